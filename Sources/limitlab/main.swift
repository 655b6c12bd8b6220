print("limitlab: under construction")

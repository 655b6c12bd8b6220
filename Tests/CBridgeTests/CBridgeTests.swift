import CCurl
import CGSL
import Testing
import Foundation

/// The C shims compile and behave: typed setopt/getinfo wrappers over a real transfer, and the
/// GSL accessors.
@Suite struct CBridgeTests {
    @Test func curlTypedWrappersPerformAFileTransfer() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("limitlab-ccurl-\(getpid()).txt")
        try Data("hello from a file".utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }

        let handle = try #require(curl_easy_init())
        defer { curl_easy_cleanup(handle) }
        final class Sink { var bytes = [UInt8]() }
        let sink = Sink()
        #expect(limitlab_curl_easy_setopt_string(handle, CURLOPT_URL, "file://" + path.path) == CURLE_OK)
        #expect(limitlab_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        #expect(limitlab_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()) == CURLE_OK)
        #expect(limitlab_curl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { ptr, size, n, user in
            guard let ptr, let user else { return 0 }
            let s = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            s.bytes.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: size * n))
            return size * n
        } == CURLE_OK)
        #expect(curl_easy_perform(handle) == CURLE_OK)
        #expect(String(decoding: sink.bytes, as: UTF8.self) == "hello from a file")
        var downloaded: curl_off_t = 0
        #expect(limitlab_curl_easy_getinfo_off_t(handle, CURLINFO_SIZE_DOWNLOAD_T, &downloaded) == CURLE_OK)
        #expect(downloaded == 17)
    }

    @Test func gslGeneratorAccessorAndErrorHandler() throws {
        limitlab_gsl_disable_abort()
        let type = try #require(limitlab_gsl_rng_mt19937())
        #expect(String(cString: type.pointee.name) == "mt19937")
        // With the abort handler off, a domain error returns NaN instead of aborting the process
        // (with the default handler this call aborts: "binomial.c: ERROR: p < 0 or p > 1").
        #expect(gsl_cdf_binomial_P(1, 1.5, 3).isNaN)
        let r = try #require(gsl_rng_alloc(type))
        defer { gsl_rng_free(r) }
        gsl_rng_set(r, 4357)
        #expect(gsl_rng_get(r) == 4_293_858_116) // MT19937's first output for GSL's default seed
    }
}

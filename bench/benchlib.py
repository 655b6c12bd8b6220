"""The common figure format of every bench, limitlab.bench/1 (stdlib only).

    {"schema": "limitlab.bench/1", "suite": "...", "date": "<RFC 3339>", "machine": "...",
     "figures": [{"id", "title", "value", "unit", "target", "met", "peer", "peer_value",
                  "ratio", "command"}], ...extra keys with details}

`ratio` is always value / peer_value (limitlab ÷ peer), so > 1 means limitlab is larger:
faster for rates, heavier for bytes.
"""
import datetime, json, os, platform

SCHEMA = "limitlab.bench/1"


def date():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def machine():
    """"N cores, CPU model, Linux kernel, RAM" of this machine."""
    cpu = "unknown CPU"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}, {mem / 1048576:.1f} GiB RAM"


def figure(id, title, value, unit, command, target=None, met=None, peer=None, peer_value=None, ratio=None):
    if ratio is None and peer_value:
        ratio = value / peer_value if value is not None else None
    return {"id": id, "title": title, "value": value, "unit": unit, "target": target, "met": met,
            "peer": peer, "peer_value": peer_value, "ratio": ratio, "command": command}


def suite(name, figures, **extra):
    doc = {"schema": SCHEMA, "suite": name, "date": date(), "machine": machine(), "figures": figures}
    doc.update(extra)
    return doc


def write(path, doc):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def load(path):
    """The document if it is in this format, else None."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA else None

"""An independent CBOR implementation (cbor2, test-only) for CBORTests.

  cbor_reference.py SEED COUNT

Prints COUNT test cases as JSON lines, each {"hex", "accepted", "value"}: half are random structures
of the kinds WebAuthn uses, encoded canonically by cbor2 (value is their rendering); half are those
encodings mutated (a byte changed, inserted, dropped, or the end cut), with whether cbor2 reads them
as exactly one item, and what it reads. A value renders as {"u": "n"} / {"n": "n"} for integers
(n for -1 - n, as text), {"b": hex}, {"t": text}, {"a": [...]}, {"m": [[key, value], ...]}, true, false, null.
"""
import io
import json
import random
import sys

import cbor2

seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)


def random_value(depth=0):
    kinds = ["int", "bytes", "text", "bool", "null"] + (["array", "map"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        bits = rng.choice([4, 8, 16, 32, 64])
        n = rng.getrandbits(bits)
        return n if rng.random() < 0.5 else -1 - n
    if kind == "bytes":
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 5, 23, 24, 40])))
    if kind == "text":
        return "".join(rng.choice("aZ09 ü水𐅑\"\\") for _ in range(rng.choice([0, 1, 3, 24, 30])))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        return [random_value(depth + 1) for _ in range(rng.choice([0, 1, 3, 24]))]
    keys = set()
    for _ in range(rng.choice([0, 1, 3, 5])):
        keys.add(rng.choice([rng.randint(-30, 30), "k" + str(rng.randint(0, 99))]))
    return {key: random_value(depth + 1) for key in keys}


def render(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    if isinstance(value, int):
        return {"u": str(value)} if value >= 0 else {"n": str(-1 - value)}
    if isinstance(value, bytes):
        return {"b": value.hex()}
    if isinstance(value, str):
        return {"t": value}
    if isinstance(value, list):
        return {"a": [render(v) for v in value]}
    if isinstance(value, dict):
        return {"m": [[render(k), render(v)] for k, v in value.items()]}
    raise TypeError(type(value))


def mutate(data):
    data = bytearray(data)
    choice = rng.randrange(4)
    if choice == 0 and data:
        data[rng.randrange(len(data))] = rng.getrandbits(8)
    elif choice == 1:
        data.insert(rng.randrange(len(data) + 1), rng.getrandbits(8))
    elif choice == 2 and data:
        del data[rng.randrange(len(data))]
    elif data:
        del data[rng.randrange(len(data)):]
    return bytes(data)


def read_whole(data):
    stream = io.BytesIO(data)
    value = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(data):
        raise ValueError("bytes after the item")
    return value


for index in range(count):
    encoded = cbor2.dumps(random_value(), canonical=True)
    data = encoded if index % 2 == 0 else mutate(encoded)
    try:
        case = {"hex": data.hex(), "accepted": True, "value": render(read_whole(data))}
    except Exception:
        case = {"hex": data.hex(), "accepted": False, "value": None}
    print(json.dumps(case))

#!/usr/bin/env python3
"""Samples of many shapes for comparing shard's whole-line and big-line paths:
gen_shapes.py N [SIZE]: N samples whose $base64 values are about SIZE bytes decoded."""
import base64
import json
import random
import sys

n = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
rnd = random.Random(42)


def b64(k):
    return base64.b64encode(rnd.randbytes(k)).decode()


for i in range(n):
    k = "s%05d" % i
    shape = i % 9
    if shape == 0:
        line = json.dumps({"__key__": k, "bin": {"$base64": b64(size)}})
    elif shape == 1:
        line = '{"__key__":"%s","bin":{"$base64":"%s"}}' % (k, b64(size).replace("/", "\\/"))
    elif shape == 2:
        line = ('{ "__key__" : "%s" ,\t"a.jpg" :  {  "$base64"  :  "%s"  }  , "b.png":{"$base64":"%s"} ,'
                ' "txt": "h\\u00e9llo \\"q\\" \u2713" }  ' % (k, b64(size), b64(100)))
    elif shape == 3:
        line = json.dumps({"__key__": k, "json": {"nested": {"$base64": b64(size // 2)}, "arr": [1, 2.5, {"x": "y"}]},
                           "cls": 12345678901234567890}, ensure_ascii=False)
    elif shape == 4:
        line = json.dumps({"__key__": k, "txt": "x" * size + "\u00fcn\u00ef", "bin": {"$base64": ""}}, ensure_ascii=False)
    elif shape == 5:
        line = '{"__key__":"%s","bin":{"$base64":"%s"}, "meta":{"$base64": "QUJD", "other":1}}' % (k, b64(size))
    elif shape == 6:
        line = '{"__key__":"%s","bin":{"\\u0024base64":"%s"}}' % (k, b64(size))
    elif shape == 7:
        line = '{"__key__":"%s","x":{"$base64":"%s"},"y":{"$base64":"%s"},"_meta":{"$base64":"QUJD"}}\r' % (k, b64(size), b64(size + 1))
    else:
        line = json.dumps({"txt": "short", "cls": i})
    print(line)

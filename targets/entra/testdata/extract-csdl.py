#!/usr/bin/env python3
"""Copy the parts of Microsoft Graph's v1.0 CSDL that targets/entra uses into
graph-v1.0-subset.csdl, byte for byte (whole elements, original indentation).

Usage: extract-csdl.py PATH/TO/v1.0-Prod.csdl > graph-v1.0-subset.csdl

Origin of v1.0-Prod.csdl: github.com/microsoftgraph/msgraph-metadata,
schemas/v1.0-Prod.csdl at commit f54f11b60956ea7b185ca0447b2b80805836ec7b
(2026-08-20), MIT licence (c) 2018 Microsoft Graph; sha256 starts a9d32d3611746c96.
"""
import hashlib, sys

SCHEMA = "microsoft.graph"
ENTITY_TYPES = ["entity", "directoryObject", "user", "group", "rbacApplication",
                "roleManagement", "unifiedRoleAssignment", "unifiedRoleDefinition"]
COMPLEX_TYPES = ["signInActivity"]
ACTIONS = ["revokeSignInSessions"]
ENTITY_SETS = ["users", "groups", "directoryObjects"]
SINGLETONS = ["roleManagement"]

data = open(sys.argv[1], "rb").read()
lines = data.decode("utf-8").split("\n")

# Only the first <Schema> (microsoft.graph) is searched.
start = next(i for i, l in enumerate(lines) if '<Schema Namespace="microsoft.graph"' in l)
end = next(i for i in range(start, len(lines)) if lines[i].strip() == "</Schema>")
body = lines[start:end]

def element(tag, name, multi=False):
    out, i = [], 0
    while i < len(body):
        l = body[i]
        if l.lstrip().startswith('<%s Name="%s"' % (tag, name)):
            if l.rstrip().endswith("/>"):
                out.append([l]); i += 1
            else:
                j = i
                while body[j].strip() != "</%s>" % tag:
                    j += 1
                out.append(body[i:j + 1]); i = j + 1
            if not multi:
                break
        else:
            i += 1
    if not out:
        sys.exit("not found: %s %s" % (tag, name))
    return [l for e in out for l in e]

print('<?xml version="1.0" encoding="utf-8"?>')
print("<!-- A subset of Microsoft Graph v1.0 $metadata, copied element by element (unchanged) by")
print("     testdata/extract-csdl.py from github.com/microsoftgraph/msgraph-metadata")
print("     schemas/v1.0-Prod.csdl @ f54f11b60956ea7b185ca0447b2b80805836ec7b (2026-08-20),")
print("     sha256 %s, MIT licence (c) 2018 Microsoft Graph. -->" % hashlib.sha256(data).hexdigest())
print(lines[1])
print(lines[2])
print(lines[start])
for n in COMPLEX_TYPES:
    print("\n".join(element("ComplexType", n)))
for n in ENTITY_TYPES:
    print("\n".join(element("EntityType", n)))
for n in ACTIONS:
    print("\n".join(element("Action", n, multi=True)))
container = next(i for i, l in enumerate(body) if "<EntityContainer" in l)
print(body[container])
for n in ENTITY_SETS:
    print("\n".join(element("EntitySet", n)))
for n in SINGLETONS:
    print("\n".join(element("Singleton", n)))
print("      </EntityContainer>")
print("    </Schema>")
print("  </edmx:DataServices>")
print("</edmx:Edmx>")

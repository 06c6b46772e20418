"""Run by tests in the verifier environment (not the project's): bovine reads an actor document
and verifies signatures with the keys it finds there.

stdin: {"actor": {...}, "key_ids": {"rsa": id, "ed25519": id},
        "message": b64, "signatures": {"rsa": b64, "ed25519": b64}, "tampered": b64}
stdout: what bovine found and whom each signature verifies as.
"""

import base64
import json
import sys

import bovine.parse


def main() -> None:
    request = json.load(sys.stdin)
    actor = bovine.parse.Actor(request["actor"])
    identifiers = {i.id: i for i in actor.cryptographic_identifiers}
    message = base64.b64decode(request["message"])
    tampered = base64.b64decode(request["tampered"])
    answer = {
        "id": actor.id,
        "acct": actor.unvalidated_acct_uri,
        "rsa_pem": actor.publicKeyPem(request["key_ids"]["rsa"]),
        "ed25519_relationships": sorted(
            identifiers[request["key_ids"]["ed25519"]].verification_relationships),
        "verified": {}, "verified_tampered": {},
    }
    for kind, key_id in request["key_ids"].items():
        signature = base64.b64decode(request["signatures"][kind])
        answer["verified"][kind] = identifiers[key_id].verify(message, signature)
        answer["verified_tampered"][kind] = identifiers[key_id].verify(tampered, signature)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()

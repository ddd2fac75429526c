#!/usr/bin/env python3
"""Decrypts a flattened JWE with python3-jwcrypto (an independent JOSE implementation).
Usage: jwcrypto_decrypt.py <private-jwk.json> <jwe.json>; prints the plaintext as hex."""
import sys
from jwcrypto import jwe, jwk

key = jwk.JWK.from_json(open(sys.argv[1]).read())
token = jwe.JWE()
token.deserialize(open(sys.argv[2]).read(), key=key)
print(token.payload.hex())

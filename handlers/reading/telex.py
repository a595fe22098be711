"""Telex and VNI leftovers: words typed on a phone whose Vietnamese keyboard did not turn the
marks into accents ("hooj" for "hộ", "caif" for "cài", "ho65" for "hộ" in VNI).

The decoding is bogo's, the engine of the ibus-bogo input method, so whatever a Telex or VNI
keyboard would have produced is what is read here; no list of typos is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache

import bogo

from storage.folding import fold

# A Telex word carries a tone or vowel key (s f r x j; aa ee oo aw ow uw dd w); a VNI word
# carries the digits 1–9 after letters. Other words are left as they are.
# The tone key may also come before the final consonant ("toasn", "cuxng"), as the keyboard
# allows.
_TELEX = re.compile(
    r"^[a-z]*(?:aa|ee|oo|aw|ow|uw|dd|w)[a-z]*$|^[a-z]*[aeiouy][a-z]*[sfrxj]$|"
    r"^[a-z]*[aeiouy][sfrxj](?:ng|nh|ch|[nctpm])$"
)
_VNI = re.compile(r"^[a-z]+[1-9][a-z1-9]*$")


@lru_cache(maxsize=4096)
def decode_word(word: str) -> str:
    """The folded word a Telex (or VNI) keyboard would have made of `word`, or `word`."""
    if not re.search(r"[aeiouy]", word):
        return word  # "ĐDĐT", "dvctt": an abbreviation, no syllable to type
    if _TELEX.match(word):
        decoded = bogo.process_sequence(word)
    elif _VNI.match(word):
        decoded = bogo.process_sequence(word, rules=bogo.get_vni_definition())
    else:
        return word
    folded = fold(decoded)
    return folded if folded.isalpha() else word

"""Which words are searched: the stop words both engines' analysers skip."""

from whoosh.analysis import STOP_WORDS as WHOOSH_STOP_WORDS

# Whoosh's English stop words less those that carry legal meaning: "may" confers a power,
# "not" makes "must not", and guidance says what an authority "can" do. Without them a search
# for "may" finds nothing and "may not" means "may".
STOP_WORDS = WHOOSH_STOP_WORDS - {"may", "not", "can"}

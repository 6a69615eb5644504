"""tokenizer_fuzz_corpus.py — writes the seed corpus of fuzz_tokenizer_json (issue 12) into
tests/tokenizer/corpus/: small tokenizer.json files built with the `tokenizers` library (so each
is a file tokenizers itself accepts), with a small real Precompiled charsmap compiled by
SentencePiece from a few normalization rules, in every supported pipeline shape, plus a few
broken ones. Each may carry a NUL and a text to encode.

usage: /opt/sf-ref/bin/python scripts/golden/tokenizer_fuzz_corpus.py
"""
import json
import os
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "tokenizer", "corpus")


def small_charsmap():
    """A charsmap of a handful of rules (full-width A/B, CR LF, ™), compiled by SentencePiece."""
    with tempfile.TemporaryDirectory() as d:
        rules = os.path.join(d, "rules.tsv")
        with open(rules, "w", encoding="utf-8") as f:
            # source code points \t target code points (hex)
            f.write("FF21\t41\nFF22\t42\nD A\t20\n2122\t54 4D\n200B\t\n3000\t20\n")
        corpus = os.path.join(d, "c.txt")
        with open(corpus, "w") as f:
            f.write("ab ba abc cab dab bad\n" * 200)
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(d, "m"), vocab_size=8,
                                       model_type="unigram", normalization_rule_tsv=rules,
                                       minloglevel=2, byte_fallback=False)
        m = pb.ModelProto()
        m.ParseFromString(open(os.path.join(d, "m.model"), "rb").read())
        return m.normalizer_spec.precompiled_charsmap


def build(charsmap, pre, byte_fallback, regex):
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), ("a", -3.0), ("b", -3.0),
             ("ab", -2.5), ("▁a", -2.0), ("<0x41>", 0.0), ("<0x42>", 0.0), ("TM", -4.0)]
    t = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=byte_fallback))
    norms = [normalizers.Strip(left=False, right=True),
             normalizers.Replace(Regex(" {2,}") if regex else "  ", "▁")]
    if charsmap:
        norms.insert(0, normalizers.Precompiled(charsmap))
    t.normalizer = normalizers.Sequence(norms)
    t.pre_tokenizer = pre
    t.post_processor = processors.TemplateProcessing(single=["$A", "</s>"], special_tokens=[("</s>", 1)])
    from tokenizers import AddedToken
    t.add_special_tokens([AddedToken("<pad>", normalized=False), AddedToken("</s>", normalized=False)])
    return t.to_str()


def main():
    os.makedirs(OUT, exist_ok=True)
    cm = small_charsmap()
    meta = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    seq = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                   pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")])
    files = {
        "precompiled_metaspace": build(cm, meta, False, True),
        "precompiled_bytefallback": build(cm, meta, True, True),
        "whitespace_split_first": build(cm, seq, False, False),
        "no_charsmap": build(None, meta, False, True),
    }
    legacy = json.loads(files["no_charsmap"])
    legacy["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
    files["legacy_add_prefix_space"] = json.dumps(legacy, ensure_ascii=False)
    texts = {"precompiled_metaspace": "ＡＢ™\r\nab  ab \u200b</s>", "whitespace_split_first": " ab\tba "}
    for name, text in files.items():
        data = text.encode()
        if name in texts:
            data += b"\0" + texts[name].encode()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    # broken ones: a charsmap whose trie points outside itself, a truncated file
    bad = json.loads(files["precompiled_metaspace"])
    import base64
    raw = bytearray(base64.b64decode(bad["normalizer"]["normalizers"][0]["precompiled_charsmap"]))
    for i in range(4, min(len(raw), 64), 4):
        raw[i + 3] = 0x7F  # huge offsets
    bad["normalizer"]["normalizers"][0]["precompiled_charsmap"] = base64.b64encode(bytes(raw)).decode()
    with open(os.path.join(OUT, "corrupt_charsmap"), "w", encoding="utf-8") as f:
        f.write(json.dumps(bad, ensure_ascii=False) + "\0ＡＢ™ ab")
    with open(os.path.join(OUT, "truncated"), "w", encoding="utf-8") as f:
        f.write(files["precompiled_metaspace"][:300])
    print("wrote", len(os.listdir(OUT)), "files to", OUT)


if __name__ == "__main__":
    main()

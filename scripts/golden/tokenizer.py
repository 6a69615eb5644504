"""tokenizer.py — the golden fixtures for the umT5 tokenizer and Wan's prompt cleaning (issue 12).

Two steps:
  --train   trains the test tokenizer the way umT5's was made and writes
            examples/models/tokenizer.json: SentencePiece unigram, normalization nmt_nfkc,
            byte_fallback on, add_dummy_prefix on, ids pad 0 / eos 1 / bos 2 / unk 3 (umT5's
            layout), 100 <extra_id_N> sentinels appended as T5's converter does; converted to a
            Hugging Face tokenizer.json with transformers' T5Converter (convert_slow_tokenizer,
            the converter that wrote umT5's tokenizer.json) and saved through
            PreTrainedTokenizerFast so pad/eos/unk and the sentinels are registered as special
            added tokens, as in the hub file. The corpus is generated (tokenizer_strings.py).
  (always)  writes tests/fixtures/tokenizer/golden.json from the committed tokenizer.json: for
            every string of tokenizer_strings.strings() the text Wan's cleaning produces
            (wan/modules/tokenizers.py basic_clean + whitespace_clean: ftfy.fix_text,
            html.unescape twice, \\s+ -> ' ', strip) and the ids of the `tokenizers` library
            with truncation and the trailing </s> at max_length 512; the same without cleaning;
            and for strings where ftfy's encoding repair (mojibake fixing, which shotfarm does
            not do) changes the text, the ids with fix_encoding=False too, so they are counted
            and listed rather than dropped. Variants rewrite the tokenizer.json text (the
            Metaspace add_prefix_space form, prepend_scheme first/never, byte_fallback on, the
            WhitespaceSplit+Metaspace form transformers 5 writes) and record ids for a subset.

usage: /opt/sf-ref/bin/python scripts/golden/tokenizer.py [--train]
"""
import html
import json
import os
import re
import sys
import tempfile
import unicodedata

import ftfy
import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer_strings  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOK_JSON = os.path.join(ROOT, "examples", "models", "tokenizer.json")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "golden.json")
MAX_LEN = 512
VOCAB = 8000
EXTRA_IDS = 100


def train():
    import sentencepiece as spm
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import T5Converter

    with tempfile.TemporaryDirectory() as d:
        corpus = os.path.join(d, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(tokenizer_strings.corpus_lines()) + "\n")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=os.path.join(d, "spiece"), vocab_size=VOCAB,
            model_type="unigram", normalization_rule_name="nmt_nfkc", byte_fallback=True,
            add_dummy_prefix=True, remove_extra_whitespaces=True, character_coverage=0.9995,
            pad_id=0, eos_id=1, bos_id=2, unk_id=3, num_threads=1, minloglevel=2)

        class Slow:  # what T5Converter reads from a slow T5Tokenizer
            vocab_file = os.path.join(d, "spiece.model")
            _extra_ids = EXTRA_IDS
            legacy = True
            add_prefix_space = True

            def convert_tokens_to_ids(self, t):
                return 1 if t == "</s>" else None

        backend = T5Converter(Slow()).converted()
        extra = [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
        fast = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>",
                                       eos_token="</s>", unk_token="<unk>",
                                       additional_special_tokens=extra)
        fast.save_pretrained(d)
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            j = json.load(f)
    os.makedirs(os.path.dirname(TOK_JSON), exist_ok=True)
    with open(TOK_JSON, "w", encoding="utf-8") as f:  # compact, same content
        json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def wan_clean(text, fix_encoding=True):
    """wan/modules/tokenizers.py: whitespace_clean(basic_clean(text))."""
    text = ftfy.fix_text(text, fix_encoding=fix_encoding)
    text = html.unescape(html.unescape(text))
    text = text.strip()
    text = re.sub(r"\s+", " ", text)
    return text.strip()


def load(text, max_len=MAX_LEN, pad=False):
    t = Tokenizer.from_str(text)
    t.enable_truncation(max_length=max_len)
    if pad:
        t.enable_padding(length=max_len, pad_id=0, pad_token="<pad>")
    return t


def ids(tok, s):
    return tok.encode(s).ids


VARIANTS = [
    ("metaspace_add_prefix_space",
     [['"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}',
       '"pre_tokenizer":{"type":"Metaspace","replacement":"▁","add_prefix_space":true}']]),
    ("metaspace_first",
     [['"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"',
       '"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first"']]),
    ("metaspace_never_nosplit",
     [['"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}',
       '"pre_tokenizer":{"type":"Metaspace","replacement":"▁","add_prefix_space":false,'
       '"prepend_scheme":"never","split":false}']]),
    ("byte_fallback", [['"byte_fallback":false', '"byte_fallback":true']]),
    ("added_strip_normalized",
     [['{"id":1,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false',
       '{"id":1,"content":"</s>","single_word":false,"lstrip":true,"rstrip":true'],
      ['{"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false',
       '{"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":true,"normalized":true'],
      # a new token (next id past the vocabulary) matched in normalized text: full-width
      # "ｃａｍｅｒａ" normalizes to "camera", so every "camera" becomes it
      ['{"id":8098,"content":"<extra_id_1>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}',
       '{"id":8098,"content":"<extra_id_1>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},'
       '{"id":9999,"content":"ｃａｍｅｒａ","single_word":false,"lstrip":true,"rstrip":false,"normalized":true,"special":false},'
       '{"id":1,"content":"</s>","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true}']]),
    ("transformers5_whitespace_split",
     [['"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}',
       '"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},'
       '{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}]}'],
      ['{"type":"Strip","strip_left":false,"strip_right":true},', '{"type":"Strip","strip_left":true,"strip_right":true},'],
      ['"content":"▁"}]}', '"content":" "}]}']]),
]


def main():
    if "--train" in sys.argv or not os.path.exists(TOK_JSON):
        train()
    with open(TOK_JSON, encoding="utf-8") as f:
        tok_text = f.read()
    tok = load(tok_text)
    strings = tokenizer_strings.strings()
    cases = []
    repaired = []
    for i, (cat, s) in enumerate(strings):
        clean = wan_clean(s)
        c = {"cat": cat, "text": s, "clean": clean, "ids": ids(tok, clean),
             "raw_ids": ids(tok, s)}
        noenc = wan_clean(s, fix_encoding=False)
        if noenc != clean:
            c["clean_noenc"] = noenc
            c["ids_noenc"] = ids(tok, noenc)
            repaired.append(i)
        cases.append(c)
    variants = []
    for name, reps in VARIANTS:
        vt = tok_text
        for a, b in reps:
            assert vt.count(a) == 1, (name, a)
            vt = vt.replace(a, b)
        vtok = load(vt)
        sub = [[i, ids(vtok, s)] for i, (_, s) in enumerate(strings) if i % 4 == 0]
        variants.append({"name": name, "replace": reps, "cases": sub})
    padded = []
    for ml in (8, 16, 64):
        ptok = load(tok_text, ml, pad=True)
        for i in range(0, len(strings), 97):
            padded.append({"index": i, "max_len": ml, "ids": ids(ptok, cases[i]["clean"])})
    doc = {
        "generator": "scripts/golden/tokenizer.py",
        "tokenizers": tokenizers.__version__, "ftfy": ftfy.__version__,
        "python_unicode": unicodedata.unidata_version, "max_len": MAX_LEN,
        "counts": tokenizer_strings.COUNTS, "encoding_repaired": repaired,
        "cases": cases, "variants": variants, "padded": padded,
    }
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} strings, {len(repaired)} changed by ftfy's encoding repair, "
          f"{len(variants)} variants -> {FIXTURE}")


if __name__ == "__main__":
    main()

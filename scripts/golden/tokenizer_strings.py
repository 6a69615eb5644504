"""tokenizer_strings.py — the committed generator of test strings for the tokenizer golden test
(issue 12), and of the multilingual training corpus for the test tokenizer.

Deterministic (random.Random with fixed seeds), no downloads. strings() returns a list of
(category, text) with a fixed count per category; COUNTS below is the contract the C test
prints back. corpus_lines() returns the training text for SentencePiece.
"""
import random

# Word lists: enough variety for a unigram vocabulary to learn real pieces in each language.
EN = ("a the of and in on with under over through beside slowly quickly woman man child dog cat "
      "horse bird city street forest river mountain ocean beach desert night morning sunset rain "
      "snow fog light shadow camera close-up wide shot tracking dolly aerial cinematic portrait "
      "walks runs flies looks smiles turns holds opens drinks coffee bottle phone car bicycle "
      "train window door red blue green golden silver dark bright soft warm cold neon reflection "
      "glass water fire smoke dust leaves flowers market crowd dancer chef kitchen table product "
      "logo brand studio lighting slow-motion 4K detailed realistic vintage futuristic").split()
ES = ("el la los las un una de del en con sobre bajo mujer hombre niño perro gato caballo pájaro "
      "ciudad calle bosque río montaña océano playa desierto noche mañana atardecer lluvia nieve "
      "niebla luz sombra cámara plano primer general camina corre vuela mira sonríe gira sostiene "
      "abre bebe café botella teléfono coche bicicleta tren ventana puerta rojo azul verde dorado "
      "plateado oscuro brillante suave cálido frío reflejo vidrio agua fuego humo hojas flores "
      "mercado multitud bailarina cocinero cocina mesa producto marca estudio iluminación cámara "
      "lenta detallado realista antiguo futurista señor año pequeño corazón canción ñandú").split()
ZH = ("一个 女人 男人 孩子 狗 猫 马 鸟 城市 街道 森林 河流 山 海洋 海滩 沙漠 夜晚 早晨 日落 下雨 "
      "下雪 雾 光 影子 镜头 特写 远景 跟拍 航拍 电影感 肖像 走路 奔跑 飞翔 看着 微笑 转身 拿着 打开 "
      "喝 咖啡 瓶子 手机 汽车 自行车 火车 窗户 门 红色 蓝色 绿色 金色 银色 黑暗 明亮 柔和 温暖 寒冷 "
      "霓虹 倒影 玻璃 水 火 烟 灰尘 树叶 花 市场 人群 舞者 厨师 厨房 桌子 产品 标志 品牌 工作室 灯光 "
      "慢动作 细节 真实 复古 未来 的 在 和 着 了 是 色调 明亮的 高清 画面 背景 整体 静止 运动").split()
JA = ("一人の 女性 男性 子供 犬 猫 馬 鳥 都市 通り 森 川 山 海 浜辺 砂漠 夜 朝 夕日 雨 雪 霧 光 影 "
      "カメラ クローズアップ ワイドショット 空撮 映画的 歩く 走る 飛ぶ 見る 微笑む 振り向く 持つ 開ける "
      "飲む コーヒー ボトル スマートフォン 車 自転車 電車 窓 ドア 赤い 青い 緑の 金色の 暗い 明るい "
      "柔らかい 暖かい 冷たい ネオン 反射 ガラス 水 火 煙 葉 花 市場 群衆 ダンサー シェフ 台所 テーブル "
      "製品 ロゴ ブランド スタジオ 照明 スローモーション が を に で と は の です ます ゆっくり").split()
KO = ("한 여자 남자 아이 개 고양이 말 새 도시 거리 숲 강 산 바다 해변 사막 밤 아침 일몰 비 눈 안개 빛 "
      "그림자 카메라 클로즈업 와이드 항공 촬영 영화 같은 걷는다 달린다 난다 본다 웃는다 돌아선다 "
      "들고 있다 연다 마신다 커피 병 휴대폰 자동차 자전거 기차 창문 문 빨간 파란 초록 금색 은색 어두운 "
      "밝은 부드러운 따뜻한 차가운 네온 반사 유리 물 불 연기 나뭇잎 꽃 시장 군중 무용수 요리사 부엌 "
      "탁자 제품 로고 브랜드 스튜디오 조명 슬로모션 이 가 을 를 에서 와 는 의 입니다 천천히").split()
LANGS = {"en": (EN, " "), "es": (ES, " "), "zh": (ZH, ""), "ja": (JA, ""), "ko": (KO, " ")}

PUNCT = {"en": ".,!?;:", "es": ".,!?¡¿", "zh": "，。！？、：", "ja": "、。！？「」", "ko": ".,!?"}

# Fixed counts per category (sum >= 2000). The C test prints the count it checked per category.
COUNTS = {
    "en": 200, "es": 200, "zh": 200, "ja": 200, "ko": 200,
    "mixed": 150, "emoji": 120, "fullwidth": 100, "combining": 120, "quotes": 90,
    "html": 140, "whitespace": 120, "controls": 50, "ligatures": 40, "special_tokens": 40,
    "unknown_chars": 60, "mojibake": 40, "empty": 20, "long": 30, "graphemes": 100,
    "multiline": 40,
}

EMOJI = ["😀", "🎬", "🎥", "🌅", "🌧️", "❤️", "👍🏽", "👩‍💻", "👨‍👩‍👧", "🏳️‍🌈", "🇪🇸", "🇯🇵",
         "🇰🇷", "🇨🇳", "1️⃣", "#️⃣", "✨", "🔥", "☕", "🚗", "🐶", "🐱", "🌸", "🍣", "⭐", "©️", "™"]
FULLWIDTH = "ＡＢＣＤＥＦＧａｂｃｄｅｆｇ０１２３４５６７８９！？（）［］｛｝＃＄％＆＊＋－／：；＜＝＞＠＾＿｀～　ｱｲｳｴｵｶﾞｷﾞﾊﾟ￥￦"
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0303", "\u0327", "\u030c", "\u0323", "\u0331",
             "\u20dd", "\u0336", "\u3099", "\u309a", "\u1161", "\u11a8"]
QUOTES = "‘’‚‛“”„‟ʼ«»‹›「」『』"
HTML = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&apos;", "&nbsp;", "&copy;", "&hellip;",
        "&mdash;", "&ndash;", "&eacute;", "&ntilde;", "&NTILDE;", "&Ntilde;", "&euro;", "&#8217;",
        "&#x2019;", "&#x1F600;", "&#128512;", "&amp;amp;", "&amp;lt;", "&amp;#39;", "&copy",
        "&amp", "&notit;", "&notin;", "&#0;", "&#x80;", "&#150;", "&#xD800;", "&#1114112;",
        "&bogus;", "&#;", "&#x;", "&LT;", "&AMP;", "&frac12;", "&times;", "&aacute", "&zwj;",
        "&ensp;", "&emsp;", "&thinsp;", "&shy;", "&lrm;", "&ThickSpace;", "&NewLine;", "&Tab;",
        "&lt;b&gt;", "&#60;i&#62;", "&sup2;", "&Hacek;", "&fjlig;", "&nGt;"]
SPACES = ["\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\u00a0", "\u1680", "\u2000", "\u2003",
          "\u2009", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u0085",
          "\ufeff", "\u180e", "\u200c", "\u200d", "\u2060", "  ", "   \t  ", "\x1c", "\x1f"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b[31m", "\x1b[0m", "\x7f", "\x80", "\x85", "\x91",
            "\x92", "\x93", "\x94", "\x96", "\x9d", "\u206a", "\ufff9", "\ufffc", "\ufffd", "\x1b"]
LIGATURES = "ﬀﬁﬂﬃﬄﬅﬆĲĳŉǄǅǆǇǈǉǊǋǌǱǲǳæœŒÆ"
SPECIAL = ["</s>", "<pad>", "<unk>", "<s>", "<extra_id_0>", "<extra_id_99>", "<extra_id_100>",
           "< /s>", "</S>", "<0x41>", "<0xE2>", "▁", "▁▁", "<", ">", "<<>>"]
UNKNOWN = ["𓀀", "𓂀", "ꙮ", "𐍈", "ᚠᚢᚦ", "ꦏꦺ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ⓐⓑⓒ", "㍿", "㌀", "ℌ", "Ω", "Å",
           "ﷺ", "ﬓ", "ܐܒ", "ߊ", "ᐁᐃ", "ᓀ", "ꓮ", "𖼀", "🀄", "🂡", "⌘", "⎈", "⏏", "\U000f0000",
           "\ue000", "각", "ᅟ", "ㅤ"]
MOJIBAKE = ["cafÃ©", "naÃ¯ve", "Ã±andÃº", "donâ€™t", "â€œquotedâ€\x9d", "Â£100", "Ã¼ber",
            "æ—¥æœ¬", "í•œêµ­", "seÃ±or aÃ±o", "âœ” done", "schÃ¶n", "Ã‰tÃ©", "Ã ",
            "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Ã¡rbol", "â€”", "ðŸ˜€"]


# Extended grapheme clusters whose first character the nmt_nfkc map rewrites (the Precompiled
# normalizer then replaces the whole cluster), CR LF, Hangul jamo, emoji modifiers and flags,
# Indic conjuncts.
GRAPHEMES = ["Ａ\u0301", "ｶ\u3099", "ﾊ\u309a", "™\u0308", "\r\n", "\u1100\u1161\u11a8",
             "\u1100\u1161", "\u1112\u1161\u11ab", "👍🏽", "🇪🇸🇯", "🇯🇵🇰🇷🇨", "क्ष", "कि",
             "\u0e01\u0e33", "①\u0301", "ﬁ\u0301", "\u00a8", "x\u200d", "e\u0301\u0302",
             "Å\u0301", "㍿\u0301", "¼\u0301", "ｱ\u200d", "\u3000\u0301", "\u00a0\u0301",
             "\t\u0301", "\u2460\u20dd", "Ⅻ\u0308", "ℌ\u0301", "\u0301", "\u200b\u0301"]


def sentence(r, lang, n_words=None):
    words, sep = LANGS[lang]
    n = n_words or r.randint(3, 18)
    out = sep.join(r.choice(words) for _ in range(n))
    if r.random() < 0.5:
        out += r.choice(PUNCT[lang])
    if lang in ("en", "es") and r.random() < 0.3:
        out = out[:1].upper() + out[1:]
    if r.random() < 0.15:
        out += " " + str(r.randint(0, 2026))
    return out


def sprinkle(r, base, items, k):
    """Inserts k random items from `items` at random character positions of `base`."""
    s = list(base)
    for _ in range(k):
        s.insert(r.randint(0, len(s)), r.choice(items))
    return "".join(s)


def gen(r, cat):
    langs = list(LANGS)
    if cat in LANGS:
        return sentence(r, cat)
    if cat == "mixed":
        return " ".join(sentence(r, r.choice(langs), r.randint(2, 6)) for _ in range(r.randint(2, 4)))
    if cat == "emoji":
        return sprinkle(r, sentence(r, r.choice(langs)), EMOJI, r.randint(1, 4))
    if cat == "fullwidth":
        return sprinkle(r, sentence(r, r.choice(langs)), list(FULLWIDTH), r.randint(1, 8))
    if cat == "combining":
        base = sentence(r, r.choice(["en", "es", "ja", "ko"]))
        return sprinkle(r, base, COMBINING, r.randint(1, 5))
    if cat == "quotes":
        base = sentence(r, r.choice(langs))
        q = r.choice(["“%s”", "‘%s’", "„%s“", "«%s»", "「%s」", "%s’s", "rock ’n’ roll %s"])
        return sprinkle(r, q % base, list(QUOTES), r.randint(0, 3))
    if cat == "html":
        s = sprinkle(r, sentence(r, r.choice(langs)), [" " + h + " " for h in HTML] + HTML,
                     r.randint(1, 4))
        if r.random() < 0.15:
            s = "<b>" + s + "</b>"  # a '<' turns ftfy's own HTML unescaping off
        return s
    if cat == "whitespace":
        s = sprinkle(r, sentence(r, r.choice(langs)), SPACES, r.randint(1, 6))
        return r.choice(["", " ", "\t", "\u3000", "\n"]) + s + r.choice(["", " ", "\n", "\u00a0"])
    if cat == "controls":
        return sprinkle(r, sentence(r, r.choice(langs)), CONTROLS, r.randint(1, 4))
    if cat == "ligatures":
        return sprinkle(r, sentence(r, r.choice(["en", "es"])), list(LIGATURES), r.randint(1, 4))
    if cat == "special_tokens":
        return sprinkle(r, sentence(r, r.choice(langs)), SPECIAL + [" " + x + " " for x in SPECIAL],
                        r.randint(1, 3))
    if cat == "unknown_chars":
        return sprinkle(r, sentence(r, r.choice(langs)), UNKNOWN, r.randint(1, 4))
    if cat == "mojibake":
        return sprinkle(r, sentence(r, r.choice(["en", "es"])), [" " + m + " " for m in MOJIBAKE],
                        r.randint(1, 2))
    if cat == "empty":
        return r.choice(["", " ", "  ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "&nbsp;", " \r\n "])
    if cat == "graphemes":
        return sprinkle(r, sentence(r, r.choice(langs)), GRAPHEMES, r.randint(1, 5))
    if cat == "multiline":
        lines = [sentence(r, r.choice(langs), r.randint(2, 8)) for _ in range(r.randint(2, 4))]
        lines = [sprinkle(r, x, HTML + ["<i>", "&NTILDE;", "&AMP;"], r.randint(0, 2)) for x in lines]
        return r.choice(["\n", "\r\n", "\u2028", "\n\n"]).join(lines)
    if cat == "long":
        n = r.randint(300, 900)
        return " ".join(sentence(r, r.choice(langs), 12) for _ in range(n // 12 + 1))
    raise KeyError(cat)


def strings():
    out = []
    for i, (cat, n) in enumerate(COUNTS.items()):
        r = random.Random(1000 + i)
        out.extend((cat, gen(r, cat)) for _ in range(n))
    return out


def corpus_lines(n=60000):
    """Training text: sentences in the five languages, plus single characters drawn from the CJK,
    kana and Hangul blocks so the vocabulary covers more than the word lists (rarer characters
    are left to byte fallback / <unk>)."""
    r = random.Random(7)
    langs = list(LANGS)
    hanzi = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
    hangul = [chr(0xAC00 + k) for k in range(0, 11172, 7)]
    latin = list("áéíóúüñçàèìòùâêîôûäëïöÿßøåœæ¿¡")
    lines = []
    for i in range(n):
        lang = langs[i % 5]
        s = sentence(r, lang, r.randint(4, 20))
        if r.random() < 0.3:
            pool = {"zh": hanzi, "ja": kana + hanzi, "ko": hangul, "en": latin, "es": latin}[lang]
            s += " " + "".join(r.choice(pool) for _ in range(r.randint(2, 10)))
        lines.append(s)
    return lines


if __name__ == "__main__":
    s = strings()
    print(len(s), "strings;", {c: n for c, n in COUNTS.items()})

"""world.py — the synthetic world the demo model is trained on (issue 30), seeded and pure numpy.

A clip is 1-3 objects (shape x colour x surface pattern), each moving in one direction across a
textured background, seen by a camera that is static, pans or dollies in. `render_clip` draws it as
uint8 frames [F, H, W, 3]; `caption` writes its prompt in en, es, zh, ja, ko exactly as shotfarm's
effective prompt would read (the shot prompt, then the camera phrase of io/campaign_rules.c, each
closed as a sentence; zh/ja parts joined with nothing and closed with 。). Some objects are fixed
named "elements" (ELEMENTS) with reference stills (`render_still`) for the VACE follow-up.
Held-out colour x shape x direction triples (HELD_OUT) never appear in training captions or clips;
evaluate.py renders them with shotfarm.
"""
import numpy as np

# name -> RGB of the object's body (saturated, far from every background in colour)
COLOURS = {"red": (225, 35, 35), "green": (40, 205, 60), "blue": (45, 85, 235),
           "gold": (240, 195, 20)}
SHAPES = ("ball", "box", "cone")            # drawn as disc, square, triangle
PATTERNS = ("plain", "striped", "dotted")
DIRECTIONS = ("left", "right", "up", "down")
# name -> (base RGB, texture kind); dull or dark, so an object's pixels stand out from them
BACKGROUNDS = {"desert": ((196, 164, 110), "dunes"), "snow": ((226, 229, 236), "speckle"),
               "forest": ((34, 70, 40), "leaves"), "night": ((16, 18, 44), "stars")}
# shotfarm camera names (io/campaign_rules.c) the world draws
CAMERAS = ("none", "static", "pan-left", "pan-right", "dolly-in")
LANGS = ("en", "es", "zh", "ja", "ko")

# Elements: fixed objects with a name (the demo campaign's characters), each a shape/colour/pattern
ELEMENTS = {"pip": ("ball", "red", "dotted"), "bolt": ("cone", "gold", "striped"),
            "cubo": ("box", "blue", "plain")}

# colour x shape x direction triples kept out of training (evaluate.py renders these)
HELD_OUT = (("red", "box", "up"), ("green", "cone", "left"), ("blue", "ball", "right"),
            ("gold", "box", "down"), ("red", "cone", "right"), ("green", "ball", "down"),
            ("blue", "cone", "up"), ("gold", "ball", "left"))

# the camera phrases of io/campaign_rules.c (en, es, zh, ja, ko)
CAMERA_PHRASE = {
    "none": ("", "", "", "", ""),
    "static": ("static camera", "cámara fija", "固定镜头", "固定カメラ", "고정 카메라"),
    "pan-left": ("the camera pans left", "la cámara gira a la izquierda", "镜头向左摇",
                 "カメラが左へパン", "카메라가 왼쪽으로 팬"),
    "pan-right": ("the camera pans right", "la cámara gira a la derecha", "镜头向右摇",
                  "カメラが右へパン", "카메라가 오른쪽으로 팬"),
    "dolly-in": ("the camera dollies in", "la cámara avanza hacia el sujeto", "镜头推近",
                 "カメラがドリーイン", "카메라가 돌리 인"),
}

# Caption words per language. Every word here is one piece of the demo tokenizer
# (make_tokenizer.py adds the missing ones), so no key word is <unk> or split.
WORDS = {
    "en": {"red": "red", "green": "green", "blue": "blue", "gold": "golden",
           "ball": "ball", "box": "box", "cone": "cone",
           "plain": "", "striped": "striped", "dotted": "dotted",
           "left": "left", "right": "right", "up": "up", "down": "down",
           "desert": "desert", "snow": "snow", "forest": "forest", "night": "night"},
    "es": {"red": "roja", "green": "verde", "blue": "azul", "gold": "dorada",
           "ball": "bola", "box": "caja", "cone": "pirámide",
           "plain": "", "striped": "rayada", "dotted": "punteada",
           "left": "izquierda", "right": "derecha", "up": "arriba", "down": "abajo",
           "desert": "desierto", "snow": "nieve", "forest": "bosque", "night": "noche"},
    "zh": {"red": "红色", "green": "绿色", "blue": "蓝色", "gold": "金色",
           "ball": "球", "box": "方块", "cone": "三角", "plain": "", "striped": "条纹",
           "dotted": "圆点", "left": "向左", "right": "向右", "up": "向上", "down": "向下",
           "desert": "沙漠", "snow": "雪地", "forest": "森林", "night": "夜晚"},
    "ja": {"red": "赤い", "green": "緑の", "blue": "青い", "gold": "金色の",
           "ball": "ボール", "box": "箱", "cone": "三角", "plain": "", "striped": "しま模様の",
           "dotted": "水玉の", "left": "左へ", "right": "右へ", "up": "上へ", "down": "下へ",
           "desert": "砂漠", "snow": "雪原", "forest": "森", "night": "夜"},
    "ko": {"red": "빨간", "green": "초록", "blue": "파란", "gold": "금색",
           "ball": "공", "box": "상자", "cone": "삼각뿔", "plain": "", "striped": "줄무늬",
           "dotted": "물방울", "left": "왼쪽으로", "right": "오른쪽으로", "up": "위로",
           "down": "아래로", "desert": "사막", "snow": "설원", "forest": "숲", "night": "밤"},
}
ELEMENT_NAMES = {"pip": "Pip", "bolt": "Bolt", "cubo": "Cubo"}


def _obj_phrase(lang, o):
    w = WORDS[lang]
    name = ELEMENT_NAMES.get(o.get("element"), "")
    c, s, p = w[o["colour"]], w[o["shape"]], w[o["pattern"]]
    if lang == "en":
        return " ".join(x for x in (name + "," if name else "", "the" if name else "a", p, c, s) if x)
    if lang == "es":
        core = " ".join(x for x in (s, c, p) if x)
        return (name + ", la " if name else "una ") + core
    if lang in ("zh", "ja"):
        return (name + "，" if name else "") + (c + p + s if lang == "zh" else p + c + s)
    return " ".join(x for x in ((name + ",") if name else "", p, c, s) if x)


def _sentence(lang, o, bg):
    w, ob = WORDS[lang], _obj_phrase(lang, o)
    d, b = w[o["direction"]], w[bg]
    if lang == "en":
        return f"{ob} moves {d} over the {b}"
    if lang == "es":
        art = "la" if bg in ("snow", "night") else "el"
        return f"{ob} va hacia la {d} sobre {art} {b}" if o["direction"] in ("left", "right") \
            else f"{ob} va {d} sobre {art} {b}"
    if lang == "zh":
        return f"{ob}在{b}上{d}移"
    if lang == "ja":
        return f"{ob}が{b}で{d}動く"
    last = ob[-1]
    batchim = "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28 != 0
    return f"{ob}{'이' if batchim else '가'} {b}에서 {d} 간다"


def _close(lang, part):
    part = part.strip()
    if not part:
        return ""
    if lang in ("zh", "ja"):
        return part if part.endswith("。") else part + "。"
    part = part[0].upper() + part[1:]
    return part if part[-1] in ".!?" else part + "."


def caption(spec, lang):
    """The prompt of one clip in one language: objects' sentences, then the camera phrase."""
    parts = [_sentence(lang, o, spec["background"]) for o in spec["objects"]]
    parts.append(CAMERA_PHRASE[spec["camera"]][LANGS.index(lang)])
    closed = [_close(lang, p) for p in parts if p]
    return ("" if lang in ("zh", "ja") else " ").join(closed)


# Where an object starts along its axis (fraction of the frame, drawn uniformly), how far it
# travels over the clip, and how far its lane moves off its slot. Wan's DiT sees positions only
# relative to each other (RoPE, no absolute embedding), so from noise it can hardly tell where
# 20 % of the frame is: the first trained model, taught one fixed track (20 % -> 80 %), drew its
# objects still in the middle. Random starts and lanes make the track a relation between frames
# only; the DiT trained on them still ignores the direction word (docs/demo-model.md § Not done
# yet, probe_text.py).
START = (0.1, 0.5)
TRAVEL = 0.4
LANE_JITTER = 0.12
# With SPEED (fractions of the frame per second along its axis; None, the default: TRAVEL per clip,
# the world the shipped DiT was trained on) an object moves at the same speed in every clip, however
# long, and its start spreads over the whole of [MARGIN, 1 - MARGIN - SPEED * seconds] (o["start"],
# drawn in START as before, mapped onto it, so the random draws stay the default world's): every
# stretch of a longer take is then a clip of the world, as a long shot's temporal windows need (a
# window of the old world draws a whole crossing, TRAVEL, whatever the take: docs/demo-model.md §
# Long takes).
SPEED = None
MARGIN = 0.1
FPS = 16


def random_spec(rng, allow_held_out=False, n_objects=None):
    """A random clip description; held-out triples are redrawn unless allowed."""
    n = n_objects or int(rng.choice([1, 2, 3], p=[0.6, 0.28, 0.12]))
    objs, used = [], set()
    while len(objs) < n:
        if rng.random() < 0.2:
            el = str(rng.choice(list(ELEMENTS)))
            shape, colour, pattern = ELEMENTS[el]
        else:
            el = None
            shape, colour = str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS)))
            pattern = str(rng.choice(PATTERNS))
        d = str(rng.choice(DIRECTIONS))
        start, jitter = float(rng.uniform(*START)), float(rng.uniform(-LANE_JITTER, LANE_JITTER))
        if not allow_held_out and (colour, shape, d) in HELD_OUT:
            continue
        if (colour, shape) in used:
            continue
        used.add((colour, shape))
        objs.append({"shape": shape, "colour": colour, "pattern": pattern, "direction": d,
                     "element": el, "start": start, "lane": jitter})
    return {"objects": objs, "background": str(rng.choice(list(BACKGROUNDS))),
            "camera": str(rng.choice(CAMERAS)), "seed": int(rng.integers(1 << 31))}


# the opposite of each direction (probe_text.py swaps the direction word with it)
REVERSED = {"left": "right", "right": "left", "up": "down", "down": "up"}
# the two directions at right angles to each
TURNED = {"left": ("up", "down"), "right": ("down", "up"), "up": ("right", "left"),
          "down": ("left", "right")}


def redirected_spec(spec, rng=None):
    """spec with every object's direction changed (its caption names other directions): with rng
    None to its opposite (REVERSED), else to one of the three others drawn from rng, each alike."""
    def other(d):
        if rng is None:
            return REVERSED[d]
        rest = [e for e in DIRECTIONS if e != d]
        return rest[int(rng.integers(len(rest)))]
    return dict(spec, objects=[dict(o, direction=other(o["direction"])) for o in spec["objects"]])


def _texture(kind, base, rng, size=128):
    """A periodic size x size background texture (float RGB 0-255)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.array(base, np.float32)
    noise = rng.normal(0, 1, (size, size)).astype(np.float32)
    if kind == "dunes":
        ph = rng.uniform(0, 2 * np.pi)
        v = 14 * np.sin(2 * np.pi * (y / 32 + 0.5 * np.sin(2 * np.pi * x / size) ) + ph)
        img = base + (v + 4 * noise)[..., None]
    elif kind == "speckle":
        img = base + (-6 * (noise > 1.6) - 2 * np.abs(noise))[..., None]
    elif kind == "leaves":
        blobs = np.sin(2 * np.pi * x / 16 + 3 * np.sin(2 * np.pi * y / 32)) * \
            np.sin(2 * np.pi * y / 16)
        img = base + (14 * blobs + 5 * noise)[..., None] * np.array([0.6, 1.0, 0.6])
    else:  # stars
        img = np.broadcast_to(base, (size, size, 3)).copy() + 3 * noise[..., None]
        img[noise > 2.6] = (200, 200, 215)
    return np.clip(img, 0, 255)


# Faces (FACES, off unless a script turns it on; the shipped DiT was trained with them, the first
# one without): an object moving in a direction wears a white face on that side (the part of it
# beyond FACE of its radius toward where it goes), as a vehicle faces the way it drives. The DiT
# does not learn the direction word from motion alone: Wan's DiT knows positions only relative to
# each other (RoPE) and the object's track is readable from the noisy input about as soon as the
# object is, so the word earns almost no gradient (docs/demo-model.md § How the direction word was
# learnt). A face makes the direction part of every frame's picture, which a DiT can learn from the
# word like a colour, and the motion it draws then follows the face. Reference stills (no
# direction) have none.
FACES = False
FACE = 0.25
FACE_RGB = (250, 250, 250)


def _draw(img, o, cx, cy, r):
    """Draws object o with centre (cx, cy), radius r (pixels) into float img [H, W, 3]; with FACES
    an object with a direction gets its face on that side."""
    H, W, _ = img.shape
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    dx, dy = (x + 0.5 - cx) / r, (y + 0.5 - cy) / r
    if o["shape"] == "ball":
        m = dx * dx + dy * dy < 1
    elif o["shape"] == "box":
        m = np.maximum(np.abs(dx), np.abs(dy)) < 0.82
    else:
        m = (dy < 0.75) & (np.abs(dx) * 1.9 < dy + 1.05)
    col = np.array(COLOURS[o["colour"]], np.float32)
    body = np.broadcast_to(col, img.shape).copy()
    if o["pattern"] == "striped":
        s = (np.floor((dx + dy) * 2.2) % 2) == 1
        body[s] = col * 0.5
    elif o["pattern"] == "dotted":
        s = ((dx * 3 % 1 - 0.5) ** 2 + (dy * 3 % 1 - 0.5) ** 2) < 0.09
        body[s] = 255 - (255 - col) * 0.35
    if FACES and o.get("direction") in DIRECTIONS:   # its face: the side it moves toward
        lead = {"left": -dx, "right": dx, "up": -dy, "down": dy}[o["direction"]]
        body[lead > FACE] = FACE_RGB
    img[m] = body[m]
    return m


def object_track(o, idx, n, W, H, t, seconds):
    """Centre of object idx of n at time t in [0,1] of a clip of `seconds` (pixels): along the
    axis of its direction it travels TRAVEL of the frame from o["start"] (in START; a spec without
    one: from 20 % to 80 %), or with SPEED, SPEED * seconds from where o["start"] falls in the
    room left (START mapped onto [MARGIN, 1 - MARGIN - SPEED * seconds]); the other coordinate
    is its lane, (idx + 1) / (n + 1) of the frame moved by o["lane"]."""
    lane = (idx + 1) / (n + 1) + o.get("lane", 0.0)
    if "start" not in o:
        a = 0.2 + 0.6 * t
    elif SPEED is None:
        a = o["start"] + TRAVEL * t
    else:
        travel = SPEED * seconds
        u = (o["start"] - START[0]) / (START[1] - START[0])
        a = MARGIN + u * max(0.0, 1 - 2 * MARGIN - travel) + travel * t
    if o["direction"] == "left":
        return (1 - a) * W, lane * H
    if o["direction"] == "right":
        return a * W, lane * H
    if o["direction"] == "up":
        return lane * W, (1 - a) * H
    return lane * W, a * H


def render_clip(spec, W, H, F, every=1):
    """uint8 frames [F, H, W, 3] of spec (deterministic in spec['seed']); with every=k only
    frames 0, k, 2k, ... (what latents.encode reads when k = 4)."""
    rng = np.random.default_rng(spec["seed"])
    base, kind = BACKGROUNDS[spec["background"]]
    tex = _texture(kind, base, rng)
    ts = tex.shape[0]
    ox, oy = rng.uniform(0, ts, 2)
    cam = spec["camera"]
    fr = list(range(0, F, every))
    out = np.empty((len(fr), H, W, 3), np.uint8)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    n = len(spec["objects"])
    r0 = 0.22 * min(W, H) if n == 1 else 0.16 * min(W, H)
    for j, f in enumerate(fr):
        t = f / max(F - 1, 1)
        z = 1 + 0.35 * t if cam == "dolly-in" else 1.0
        px = {"pan-left": -0.6 * W * t, "pan-right": 0.6 * W * t}.get(cam, 0.0)
        bx = ((x - W / 2) / z + W / 2 + px + ox).astype(np.int64) % ts
        by = ((y - H / 2) / z + H / 2 + oy).astype(np.int64) % ts
        img = tex[by, bx].copy()
        for i, o in enumerate(spec["objects"]):
            cx, cy = object_track(o, i, n, W, H, t, (F - 1) / FPS)
            cx, cy = (cx - W / 2) * z + W / 2, (cy - H / 2) * z + H / 2
            _draw(img, o, cx, cy, r0 * z)
        out[j] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def render_still(element, W, H, background, seed):
    """A reference still of a named element: centred, large, on a background."""
    shape, colour, pattern = ELEMENTS[element]
    rng = np.random.default_rng(seed)
    base, kind = BACKGROUNDS[background]
    img = _texture(kind, base, rng)[:H, :W].copy() if H <= 128 and W <= 128 else None
    if img is None:
        img = np.broadcast_to(np.array(base, np.float32), (H, W, 3)).copy()
    o = {"shape": shape, "colour": colour, "pattern": pattern}
    _draw(img, o, W / 2, H / 2, 0.35 * min(W, H))
    return np.clip(img, 0, 255).astype(np.uint8)


def frames_for_seconds(sec):
    """shotfarm's 4n+1 frames >= 16 * sec (io/campaign_rules.c sf_campaign_frames_for_ms)."""
    need = FPS * int(round(sec * 1000)) - 1000
    return 1 if need <= 0 else 4 * ((need + 3999) // 4000) + 1

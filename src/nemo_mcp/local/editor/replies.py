"""What the editor says, in the project's language: every sentence in English and Simplified Chinese.

Operations never build text; they return a :class:`Msg` (a catalogue key and its values), and
a refusal is a :class:`Refusal` carrying one. The words are chosen only when the reply is
written, so one edit reads the same in both languages and a missing translation is a test
failure, not a silent English sentence. Values that need words of their own (lengths of time,
percentages, the name of an item) are small objects with a ``words(lang)`` method.

A reply claims a change only with the words under ``done``; an unchanged timeline never gets
them (``LocalEditor`` checks the drafts before it picks the words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from nemo_mcp.local.editor.words import COLOURS

Lang = Literal["en", "zh"]


# Chinese written in Traditional characters: replies come in Simplified, with a note saying so.
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def language(code: str | None) -> tuple[Lang, str | None]:
    """The reply language for a project's language code, and the catalogue key of the note that
    says the replies are not in that language (``None`` when they are)."""
    base = (code or "en").strip().lower().replace("_", "-")
    if base.startswith("zh"):
        return "zh", "simplified_only" if base.startswith(_TRADITIONAL) else None
    return "en", None if base == "" or base.startswith("en") else "english_only"


class Words(Protocol):
    def words(self, lang: Lang) -> str: ...


@dataclass(frozen=True)
class Seconds:
    ms: int

    def words(self, lang: Lang) -> str:
        tenths = (self.ms + 50) // 100
        whole, tenth = divmod(tenths, 10)
        number = f"{whole}" if tenth == 0 else f"{whole}.{tenth}"
        return f"{number}秒" if lang == "zh" else f"{number} s"


@dataclass(frozen=True)
class Percent:
    level: float

    def words(self, lang: Lang) -> str:
        return f"{round(self.level * 100)}%"


@dataclass(frozen=True)
class Speed:
    factor: float

    def words(self, lang: Lang) -> str:
        number = f"{self.factor:.2f}".rstrip("0").rstrip(".")
        return f"{number}倍速" if lang == "zh" else f"{number}×"


# kind → (English one, English many, Chinese measure word, Chinese noun)
_NOUNS: Final[dict[str, tuple[str, str, str, str]]] = {
    "image": ("photo", "photos", "张", "照片"),
    "gif": ("GIF", "GIFs", "个", "动图"),
    "video": ("clip", "clips", "段", "视频片段"),
    "color": ("background card", "background cards", "张", "背景卡"),
    "audio": ("song", "songs", "首", "音乐"),
    "text": ("text", "texts", "段", "文字"),
    "item": ("item", "items", "个", "素材"),
}


def _noun(kind: str) -> tuple[str, str, str, str]:
    return _NOUNS.get(kind, _NOUNS["item"])


@dataclass(frozen=True)
class Noun:
    """What a kind of item is called: "photo", "照片"."""

    kind: str

    def words(self, lang: Lang) -> str:
        return _noun(self.kind)[3 if lang == "zh" else 0]


@dataclass(frozen=True)
class Count:
    """A number of items of one kind: "1 photo", "3 photos", "3张照片"."""

    n: int
    kind: str

    def words(self, lang: Lang) -> str:
        one, many, measure, noun = _noun(self.kind)
        if lang == "zh":
            return f"{self.n}{measure}{noun}"
        return f"{self.n} {one if self.n == 1 else many}"


@dataclass(frozen=True)
class Item:
    """A timeline item as people know it: its kind and its file name (or its words)."""

    kind: str
    name: str

    def words(self, lang: Lang) -> str:
        if lang == "zh":
            return f"{_noun(self.kind)[3]}“{self.name}”"
        return f'the {_noun(self.kind)[0]} "{self.name}"'


@dataclass(frozen=True)
class Said:
    """Words as said (a name, a text, a phrase to send next), quoted the way the language quotes."""

    text: str
    zh: str | None = None  # the same phrase in Chinese, when it is one to send

    def words(self, lang: Lang) -> str:
        if lang == "zh":
            return f"“{self.zh or self.text}”"
        return f'"{self.text}"'


@dataclass(frozen=True)
class Listing:
    """Several values joined as the language joins a list."""

    parts: tuple[Words | str, ...]

    def words(self, lang: Lang) -> str:
        shown = [p if isinstance(p, str) else p.words(lang) for p in self.parts]
        if lang == "zh":
            return "、".join(shown)
        if len(shown) <= 2:
            return " and ".join(shown)
        return ", ".join(shown[:-1]) + " and " + shown[-1]


@dataclass(frozen=True)
class Joined:
    """Several values written one after the other."""

    parts: tuple[Words, ...]

    def words(self, lang: Lang) -> str:
        return "".join(p.words(lang) for p in self.parts)


@dataclass(frozen=True)
class Options:
    """Phrases to send next, joined with "or"."""

    phrases: tuple[str, ...]

    def words(self, lang: Lang) -> str:
        shown = [Said(p).words(lang) for p in self.phrases]
        return (
            ("或".join(shown))
            if lang == "zh"
            else ", ".join(shown[:-1]) + (" or " if len(shown) > 1 else "") + shown[-1]
        )


_COLOUR_NAMES: Final = {
    lang: {hex_: name for name, hex_ in reversed(COLOURS.items()) if name.isascii() == (lang == "en")}
    for lang in ("en", "zh")
}


@dataclass(frozen=True)
class Colour:
    hex: str

    def words(self, lang: Lang) -> str:
        name = _COLOUR_NAMES[lang].get(self.hex.lower())
        if name is None:
            return self.hex
        return f"{name}色" if lang == "zh" and len(name) == 1 else name


@dataclass(frozen=True)
class Suffix:
    """More details after a separator (a comma unless told), or nothing when there are none."""

    parts: tuple[Words | str, ...]
    lead: tuple[str, str] = (", ", "，")

    def words(self, lang: Lang) -> str:
        if not self.parts:
            return ""
        return self.lead[1 if lang == "zh" else 0] + Listing(self.parts).words(lang)


Value = Words | str | int | float


@dataclass(frozen=True)
class Msg:
    key: str
    values: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def of(cls, key: str, **values: Value) -> Msg:
        if key not in CATALOGUE:
            raise KeyError(f"no message {key!r}")
        return cls(key, tuple(values.items()))

    def words(self, lang: Lang) -> str:
        template = CATALOGUE[self.key][0 if lang == "en" else 1]
        shown = {name: value.words(lang) if hasattr(value, "words") else _plain(value) for name, value in self.values}
        return template.format(**shown)


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Refusal(Exception):
    """Why an understood request cannot change this timeline; nothing it touched is kept."""

    def __init__(self, key: str, **values: Value) -> None:
        super().__init__(key)
        self.msg = Msg.of(key, **values)


# key → (English, 简体中文). Values in braces are filled in by Msg.words.
CATALOGUE: Final[dict[str, tuple[str, str]]] = {
    # The frame of a reply.
    "done": ("Done: {what}", "好了：{what}"),
    "length": ("The video is now {length} long.", "视频现在长{length}。"),
    "next": ("Ask me to export when you're happy with it.", "满意的话，让我导出即可。"),
    "unchanged": ("The timeline is unchanged.", "时间线没有变化。"),
    "cancelled_out": (
        "Those changes cancel each other out, so the timeline is unchanged.",
        "这些修改互相抵消了，时间线没有变化。",
    ),
    "not_done": ("Not done: {what}", "没有做：{what}"),
    "not_understood": (
        "I didn't understand {said}; nothing was changed for it.",
        "我没听懂{said}，这部分没有做任何修改。",
    ),
    "try": ("Closest things I can do: {options}.", "我能做的相近操作：{options}。"),
    "help_hint": ('Say "help" for everything I understand.', "说“帮助”可查看我能听懂的全部说法。"),
    "english_only": (
        "(The offline editor replies in English or Chinese; this project's language is {code}, so I reply in English.)",
        "（离线编辑器只会用中文或英文回复；这个项目的语言是{code}。）",
    ),
    "simplified_only": (
        "(The offline editor writes Chinese in Simplified characters; this project's language is {code}.)",
        "（離線編輯器只會用簡體中文回覆；這個專案的語言是{code}。）",
    ),
    "font_missing": (
        "The text {text} will not show in the video: no installed font has its script. Install one with "
        "pip install 'nemo-mcp[cjk]' and restart the server, or use Latin letters.",
        "文字{text}在视频里显示不出来：没有安装能显示这种文字的字体。请运行 pip install 'nemo-mcp[cjk]' "
        "安装字体并重启服务，或者改用拉丁字母。",
    ),
    "dropped_text": (
        "{item} started after the new end of the video, so it is gone.",
        "{item}的开始时间已超出视频的新结尾，所以被去掉了。",
    ),
    "only_undo": (
        "I only undid the last change; send the rest again as a new instruction.",
        "我只撤销了上一步，其余的请重新发一条指令。",
    ),
    # Answers that change nothing.
    "help": (
        "Here is what the offline editor understands (one thing or several per instruction):\n{lines}\n"
        "Upload media first, then tell me what to make; ask me to export when you're happy.",
        "离线编辑器能听懂这些（一条指令里可以说一件或几件事）：\n{lines}\n先上传素材，再告诉我要做什么；满意后让我导出。",
    ),
    "export": (
        "Exporting is not an edit: ask me to export and I'll render the MP4 (at the timeline's size, {size}) "
        "and save it on your computer.",
        "导出不是编辑操作：直接让我导出，我会把视频渲染成 MP4（时间线尺寸 {size}）并保存到你的电脑。",
    ),
    "credits": (
        "Offline editing is free: instructions and exports use no credits.",
        "离线编辑免费：指令和导出都不消耗积分。",
    ),
    "upload": (
        "This project has {count} uploaded file(s){names}. To add more, ask me to upload them (give their paths "
        'or links), then say "make a slideshow".',
        "这个项目已上传{count}个文件{names}。要添加更多，请让我上传它们（给出路径或链接），然后说“做成视频”。",
    ),
    "status": ("Here is the timeline:\n{summary}", "当前时间线：\n{summary}"),
    "nothing_to_undo": (
        "There's nothing to undo yet — the timeline is unchanged.",
        "还没有可以撤销的修改，时间线没有变化。",
    ),
    "undone": (
        "Undone! The timeline is back to how it was before the last change ({length}).",
        "已撤销！时间线恢复到上一次修改之前的样子（{length}）。",
    ),
    "question": (
        "That sounds like a question, so nothing was changed; to do it, say {said}.",
        "这听起来像是在提问，所以没有做任何修改；如果要做，请直接说{said}。",
    ),
    "leave": ("All right, I'll leave that as it is.", "好的，这部分保持不变。"),
    "why_except": (
        'exceptions ("all but …") are not understood, so nothing was changed; name what to change instead.',
        "还不能理解“除了……”这样的例外，所以没有做任何修改；请直接说要改哪些。",
    ),
    "redo": (
        "I can't redo an undone change; send that instruction again instead.",
        "我不能重做被撤销的修改，请重新发送那条指令。",
    ),
    "unsupported": (
        "I can't do that offline: {reason}",
        "离线模式做不到：{reason}",
    ),
    "why_generate": (
        "making new pictures, 3D or cartoon animation needs the cloud editor's AI; this editor only arranges "
        "the media you upload.",
        "生成新画面、3D或卡通动画需要云端编辑器的AI，离线编辑器只能编排你上传的素材。",
    ),
    "why_voice": ("voice-over and speech need the cloud editor's AI.", "配音和语音需要云端编辑器的AI。"),
    "why_transcribe": (
        "subtitles from speech need the cloud editor's AI; I can add captions you write.",
        "从语音生成字幕需要云端AI；我可以添加你写好的字幕。",
    ),
    "why_matting": ("cutting people or objects out of a picture needs AI.", "抠图/去背景需要AI。"),
    "why_quality": (
        "upscaling or enhancing pictures is not available; exports are at the timeline's size (up to 1080p).",
        "离线无法提升画质或超分，导出按时间线尺寸（最高1080p）。",
    ),
    "why_filter": ("colour filters and grading are not available offline.", "离线没有滤镜和调色功能。"),
    "why_effects": ("stickers, particles and effects are not available offline.", "离线没有贴纸、粒子和特效。"),
    "why_tracking": (
        "stabilising, face blurring and tracking need video analysis the offline editor doesn't have.",
        "防抖、人脸打码和跟踪需要离线编辑器没有的视频分析功能。",
    ),
    "why_translate": (
        "translating needs the cloud editor; write the text you want.",
        "翻译需要云端编辑器，请直接写出想要的文字。",
    ),
    "why_beat": ("cutting to the beat needs music analysis.", "卡点剪辑需要分析音乐节拍。"),
    "why_reverse_play": ("clips cannot play backwards offline.", "离线不能倒放视频片段。"),
    "why_aspect": (
        "the canvas can be portrait (9:16), landscape (16:9) or square (1:1).",
        "画布只能是竖屏(9:16)、横屏(16:9)或方形(1:1)。",
    ),
    "why_shuffle": (
        "I don't shuffle at random; tell me the order you want.",
        "我不会随机打乱顺序，请告诉我想要的顺序。",
    ),
    "why_music_edit": (
        "the song itself can't be edited (tempo, pitch, cutting parts out).",
        "离线不能编辑歌曲本身（速度、音调、剪掉片段）。",
    ),
    "why_text_effect": (
        "text can be sized, coloured and placed, but not animated or given a font.",
        "文字可以调大小、颜色和位置，但不能做动画或换字体。",
    ),
    "why_more_music": ("one music track plays under the whole video.", "整个视频只有一条背景音乐。"),
    # Building.
    "built": (
        "I put {what} on the video track in upload order{extras}.",
        "我把{what}按上传顺序放到了视频轨道上{extras}。",
    ),
    "built_extras_fades": (", with crossfades", "，加了交叉淡化转场"),
    "built_extras_zoom": (", each photo slowly zooming in", "，每张照片缓慢推近"),
    "canvas_auto": (
        "Most of your media is {shape}, so the canvas is {shape} ({size}); say {other} to change it.",
        "大部分素材是{shape}，所以画布设为{shape}（{size}）；想改的话说{other}。",
    ),
    "no_media": (
        "I don't see any photos or clips in this project yet. Upload some first, or make a text-only video.",
        "这个项目里还没有照片或视频。请先上传，或者做一个纯文字视频。",
    ),
    "already_built": ("Every upload is already on the timeline, in order.", "所有上传的素材已经按顺序在时间线上了。"),
    "added_item": ("Added {item} {where}.", "已添加{item}（{where}）。"),
    "no_upload_named": (
        "There's no upload called {name}. Uploads: {names}.",
        "没有叫{name}的上传文件。已上传：{names}。",
    ),
    "cleared": ("Cleared the timeline.", "已清空时间线。"),
    "already_empty": ("The timeline is already empty.", "时间线已经是空的。"),
    # Canvas and framing.
    "canvas": ("The canvas is now {shape} ({size}).", "画布已改为{shape}（{size}）。"),
    "canvas_same": ("The canvas is already {shape} ({size}).", "画布已经是{shape}（{size}）。"),
    "portrait": ("portrait", "竖屏"),
    "landscape": ("landscape", "横屏"),
    "square": ("square", "方形"),
    "fit_all": (
        "Every item now fits the frame uncropped, on {bg}.",
        "所有素材现在完整显示、不裁剪，空白处为{bg}。",
    ),
    "fill_all": ("Every item now fills the frame (cropped to fit).", "所有素材现在铺满画面（裁剪以适应）。"),
    "fit_items": (
        "Set {items} to fit the frame uncropped, on {bg}.",
        "已把{items}设为完整显示、不裁剪，空白处为{bg}。",
    ),
    "fill_items": ("Set {items} to fill the frame (cropped).", "已把{items}设为铺满画面（裁剪）。"),
    "fit_same": ("That's already how the items are framed.", "素材已经是这样的画面方式了。"),
    "bg_blur": ("a blurred copy of the picture", "模糊的画面背景"),
    "bg_colour": ("a {colour} background", "{colour}背景"),
    # Items.
    "removed_items": ("Removed {items}.", "已删除{items}。"),
    "moved_item": ("Moved {item} {where}.", "已把{item}移到{where}。"),
    "to_start": ("to the start", "开头"),
    "to_end": ("to the end", "结尾"),
    "to_before": ("before {item}", "{item}之前"),
    "to_after": ("after {item}", "{item}之后"),
    "to_place": ("to place {n}", "第{n}个位置"),
    "order_same": ("{item} is already there.", "{item}已经在那个位置了。"),
    "swapped": ("Swapped {a} and {b}.", "已交换{a}和{b}。"),
    "reversed": ("Reversed the order of the {n} items.", "已把{n}个素材的顺序倒过来。"),
    "reverse_same": ("There's only one item, so the order can't change.", "只有一个素材，顺序无法改变。"),
    "trimmed": (
        "{item} now plays {start}–{end} of its source ({length}).",
        "{item}现在播放原片的{start}–{end}（{length}）。",
    ),
    "trim_clamped": (
        "(the clip is only {source} long, so it ends there)",
        "（原片只有{source}，所以到结尾为止）",
    ),
    "trim_same": ("{item} already plays {start}–{end} of its source.", "{item}已经是播放原片的{start}–{end}了。"),
    "trim_empty": (
        "That leaves nothing of {item} (it is {source} long).",
        "这样{item}就没有内容了（原片长{source}）。",
    ),
    "item_length": ("Set {items} to show for {length}.", "已把{items}设为显示{length}。"),
    "item_length_same": ("Already {length}: {items}.", "{items}已经是{length}了。"),
    "clip_longest": (
        "{item} can show at most {length} at this speed (its whole source), so that's its length now.",
        "{item}在当前速度下最长{length}（整段原片），已设为这个长度。",
    ),
    "speed": ("{item} now plays at {speed} ({length}).", "{item}现在以{speed}播放（{length}）。"),
    "speed_same": ("{item} already plays at {speed}.", "{item}已经是{speed}了。"),
    "speed_clamped": ("(speed goes from 0.25× to 4×)", "（速度范围是0.25倍到4倍）"),
    "speed_photos": (
        "speed is for clips; to show a photo for less or more time, say {example}.",
        "速度只适用于视频片段；要改变照片显示时间，可以说{example}。",
    ),
    "clip_volume": ("{item} now plays its own sound at {level}.", "{item}的原声音量已设为{level}。"),
    "clip_muted": ("Muted {item}.", "已把{item}静音。"),
    "clip_unmuted": ("{item} plays its own sound again (100%).", "{item}的原声已恢复（100%）。"),
    "clip_volume_same": ("{item} already plays its own sound at {level}.", "{item}的原声音量已经是{level}了。"),
    "no_clips": ("There's no video clip on the timeline.", "时间线上没有视频片段。"),
    "mute_note": ("(the music is unchanged; say {example} for silence)", "（背景音乐没变；想完全静音可以说{example}）"),
    "motion": ("Set the motion of {items} to {motion}.", "已把{items}的动效改为{motion}。"),
    "motion_same": ("Already {motion}: {items}.", "{items}已经是{motion}了。"),
    "motion_zoom_in": ("zoom in", "缓慢推近"),
    "motion_zoom_out": ("zoom out", "缓慢拉远"),
    "motion_pan_left": ("pan left", "向左平移"),
    "motion_pan_right": ("pan right", "向右平移"),
    "motion_none": ("still", "静止"),
    "motion_photos_only": ("motion is for photos; clips play as they are.", "动效只适用于照片，视频片段按原样播放。"),
    # Lookups that fail.
    "no_such_item": ("There's no {what} on the timeline.", "时间线上没有{what}。"),
    "only_n": ("There are only {count} on the timeline.", "时间线上只有{count}。"),
    "which_one": (
        "Which {what}? There are {n}: {names}. Say {example} or use the file name.",
        "是哪个{what}？一共有{n}个：{names}。可以说{example}或者用文件名。",
    ),
    "no_text_saying": (
        "No text on the timeline says {text}. The texts: {names}.",
        "时间线上没有写着{text}的文字。现有文字：{names}。",
    ),
    "no_text": ("There's no text on the timeline.", "时间线上没有文字。"),
    # Text.
    "text_added": ("Added the text {text} ({start}–{end}{style}).", "已添加文字{text}（{start}–{end}{style}）。"),
    "text_changed": ("{old} now says {text}.", "{old}已改为{text}。"),
    "text_same": ("{old} already says {text}.", "{old}已经是{text}了。"),
    "text_what": (
        "What should the text say? Put it in quotes, like: {example}.",
        "文字要写什么？请用引号括起来，例如：{example}。",
    ),
    "text_timed": ("{item} now shows {start}–{end}.", "{item}现在显示在{start}–{end}。"),
    "text_timed_same": ("{item} already shows {start}–{end}.", "{item}已经是显示在{start}–{end}了。"),
    "text_clipped": ("(the video ends at {end})", "（视频在{end}结束）"),
    "text_past_end": (
        "The video is only {length} long, so text can't start at {start}.",
        "视频只有{length}长，文字不能从{start}开始。",
    ),
    "text_removed": ("Removed {items}.", "已删除{items}。"),
    "text_styled": ("Restyled {items}: {style}.", "已修改{items}：{style}。"),
    "text_styled_same": ("Already like that ({style}): {items}.", "{items}已经是这样了（{style}）。"),
    "style_size": ("size {px} px", "字号{px}像素"),
    "style_colour": ("colour {colour}", "颜色{colour}"),
    "style_place": ("at the {place}", "放在{place}"),
    "place_top": ("top", "顶部"),
    "place_center": ("centre", "中间"),
    "place_bottom": ("bottom", "底部"),
    "card_added": (
        "Added a {length} {colours} card {where} with the text {text} on it, drifting gently.",
        "在{where}添加了{length}的{colours}背景卡，上面写着{text}，背景缓缓流动。",
    ),
    "card_start": ("at the start", "开头"),
    "card_end": ("at the end", "结尾"),
    "card_colours": ("{a}", "{a}"),
    "card_gradient": ("{a}-to-{b} gradient", "{a}到{b}渐变"),
    "card_recoloured": ("{item} is now {colours}.", "{item}已改为{colours}。"),
    "card_recoloured_same": ("{item} is already {colours}.", "{item}已经是{colours}了。"),
    "no_card": (
        "There's no background card to recolour; say {example} to make one.",
        "没有可以改颜色的背景卡；可以说{example}来做一个。",
    ),
    # Music.
    "music_added": (
        "Added {name} as background music at {level} under the whole video.",
        "已添加背景音乐“{name}”，音量{level}，覆盖整个视频。",
    ),
    "music_same": ("{name} is already the background music at {level}.", "“{name}”已经是背景音乐了，音量{level}。"),
    "no_audio_upload": (
        "To add background music, upload an audio file (mp3, wav, m4a or aac) first.",
        "要加背景音乐，请先上传音频文件（mp3、wav、m4a或aac）。",
    ),
    "music_removed": ("Removed the background music.", "已去掉背景音乐。"),
    "no_music": ("There's no background music.", "没有背景音乐。"),
    "no_music_add": (
        "There's no background music yet; say {example} first.",
        "还没有背景音乐，请先说{example}。",
    ),
    "music_volume": ("The music is now at {level} (was {old}).", "背景音乐音量已从{old}改为{level}。"),
    "music_volume_same": ("The music is already at {level}.", "背景音乐音量已经是{level}了。"),
    "music_loudest": (
        "The music is already at full volume (100%); the offline editor can't play it louder than recorded.",
        "背景音乐已经是最大音量（100%），离线编辑器不能放大到超过原始音量。",
    ),
    "music_fade": ("The music now fades {which} over {length}.", "背景音乐现在{which}，时长{length}。"),
    "music_fade_off": ("The music no longer fades {which}.", "背景音乐不再{which}。"),
    "music_fade_same": ("The music already fades {which} over {length}.", "背景音乐已经是{which}，时长{length}。"),
    "music_fade_off_same": ("The music doesn't fade {which}.", "背景音乐本来就没有{which}。"),
    "fade_in_word": ("in", "淡入"),
    "fade_out_word": ("out", "淡出"),
    "fade_both_word": ("in and out", "淡入淡出"),
    "ducked": (
        "The music now drops to {level} of its volume while a clip with sound plays.",
        "有声音的视频片段播放时，背景音乐会降到原音量的{level}。",
    ),
    "duck_no_sound": (
        "(no clip on the timeline has sound yet, so you won't hear a difference until one does)",
        "（时间线上还没有带声音的视频片段，所以暂时听不出区别）",
    ),
    "unducked": ("The music no longer drops under clips.", "背景音乐不再在视频片段播放时降低。"),
    "duck_same": (
        "The music already drops to {level} under clips with sound.",
        "背景音乐已经会在有声片段时降到{level}。",
    ),
    "unduck_same": ("The music doesn't drop under clips.", "背景音乐本来就不会在片段播放时降低。"),
    # Transitions and fades.
    "crossfade": (
        "Crossfades are now {length} (never more than a quarter of the shorter item).",
        "交叉淡化转场已改为{length}（不超过较短素材的四分之一）。",
    ),
    "crossfade_off": ("No more crossfades: items now cut straight to the next.", "已去掉交叉淡化，素材之间直接切换。"),
    "crossfade_same": ("Crossfades are already {length}.", "交叉淡化已经是{length}了。"),
    "crossfade_off_same": ("There are already no crossfades.", "本来就没有交叉淡化。"),
    "fade_black": ("The video now fades {which} black over {length}.", "视频现在{which}，时长{length}。"),
    "fade_black_off": ("The video no longer fades {which} black.", "视频不再{which}。"),
    "fade_black_same": ("The video already fades {which} black over {length}.", "视频已经是{which}，时长{length}。"),
    "fade_black_off_same": ("The video doesn't fade {which} black.", "视频本来就没有{which}。"),
    "from_black": ("in from", "从黑场淡入"),
    "to_black": ("out to", "淡出到黑场"),
    # Timing.
    "photo_length": ("Each photo now shows for {length}.", "每张照片现在显示{length}。"),
    "photo_length_same": ("Each photo already shows for {length}.", "每张照片已经是显示{length}了。"),
    "no_photos": ("There are no photos on the timeline to retime.", "时间线上没有可以调整时长的照片。"),
    "total": ("I retimed the photos so the video lasts {length}.", "我调整了照片时长，让视频总长为{length}。"),
    "total_short": (
        "Shortening the photos alone can't make the video {length}: with every photo at 0.5 s it is still "
        "{reached}. Trim or speed up a clip too, e.g. {example}.",
        "只缩短照片无法让视频变成{length}：每张照片都缩到0.5秒也还有{reached}。还需要剪短或加速视频片段，例如{example}。",
    ),
    "total_long": (
        "Lengthening the photos alone can't make the video {length}: with every photo at 60 s it is {reached}.",
        "只拉长照片无法让视频变成{length}：每张照片都拉到60秒也只有{reached}。",
    ),
    "total_same": ("The video is already {length} long.", "视频已经是{length}长了。"),
    "total_no_photos": (
        "Only photos stretch or shrink, and there are none on the timeline; clips keep their length (trim them "
        "instead, e.g. {example}).",
        "只有照片能拉长或缩短，时间线上没有照片；视频片段保持原长（可以剪辑，例如{example}）。",
    ),
}

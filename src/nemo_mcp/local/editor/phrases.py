"""The phrase table: every request the offline editor understands, in English and Chinese.

Each :class:`Phrase` is one operation with the words that ask for it, a builder that reads a
clause into a :class:`Command`, what it does in both languages, and example phrasings. The
parser tries the phrases in table order (the first that builds wins, unless it says ``also``);
the README's reference and the "help" reply are generated from the same rows, and a test parses
every example, so what is documented is exactly what is understood.

Requests that are understood but impossible offline (3D animation, voice-over, filters, …) are
rows of :data:`UNSUPPORTED`: they are answered with the reason and the closest phrasings that
work, and change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from nemo_mcp.local.editor import words
from nemo_mcp.local.editor.clause import Clause
from nemo_mcp.local.editor.refs import Ref
from nemo_mcp.local.editor.words import en

ITEM_KINDS: Final = ("image", "gif", "clip", "video", "item", "color")
TEXT_KINDS: Final = ("title", "caption", "text")


@dataclass(frozen=True)
class Command:
    """One operation asked for: its name, its arguments and what it points at."""

    op: str
    args: dict[str, Any] = field(default_factory=dict)
    refs: tuple[Ref, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The tool's arguments: JSON values only."""
        shown = {k: v for k, v in self.args.items() if v is not None}
        if self.refs:
            shown["targets"] = [r.as_arg() for r in self.refs]
        return {"action": self.op, **shown}


@dataclass
class Context:
    """What "it" means: the last thing an earlier clause of the instruction was about."""

    subject: Ref | None = None


Builder = Callable[[Clause, Context], list[Command] | None]


@dataclass(frozen=True)
class Phrase:
    op: str
    topic: str
    does: tuple[str, str]  # (English, 中文)
    en: tuple[str, ...]
    zh: tuple[str, ...]
    build: Builder
    also: bool = False  # later phrases may read the same clause too ("make a landscape slideshow")


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- shared words -------------------------------------------------------------------------------

_REMOVE = rx(
    en(
        r"remove|delete|drop|cut out|take out|take off|take away|get rid of|erase|lose|kill|ditch|no|without|"
        r"hide|clear|don'?t want|strip"
    )
    + r"|删除|删掉|去掉|去除|移除|删了|拿掉|不要|不想要|取消|隐藏|清除|删"
)
_ADD_STRICT = rx(en(r"add|insert|include|append|write|type|create|attach") + r"|加上?|添加|插入|写上|打上|增加|新增")
_ADD = rx(
    _ADD_STRICT.pattern + "|" + en(r"put|place|show|display|give|overlay|use|with|play|set") + "|放上?|显示|配上?|用"
)
_NEGATE = rx(
    en(r"no|none|without|remove|delete|turn off|switch off|disable|stop|don'?t|do not|never|get rid of|cancel|kill")
    + r"|不要|去掉|取消|关闭|关掉|删除|别|无"
)
_ANOTHER = rx(
    en(r"second|another|new|extra|more|additional|one more|other|separate") + r"|另一个|再加|再添|新的|第2个|多加|另外"
)
_CHANGE = rx(
    en(
        r"change|rename|replace|edit|update|retitle|reword|correct|fix|make (?:it|the \w+) (?:say|read)"
        r"|should (?:say|read|be)|say|read"
    )
    + r"|改成|改为|换成|改|变成|替换"
)
_WHOLE = rx(
    en(r"long|total|whole|overall|video|movie|length|duration|everything|all together|in total") + r"|视频|总|整个|全长"
)


def target(clause: Clause, ctx: Context, kinds: tuple[str, ...]) -> Ref | None:
    """The first reference of these kinds, or what "it" (or nothing at all) refers back to."""
    ref = clause.first(*kinds)
    if ref is not None:
        return ref
    subject = ctx.subject
    if subject is not None and subject.kind in kinds and (clause.pronoun or not clause.refs):
        return subject
    return None


def _by_pronoun(clause: Clause, ctx: Context, kinds: tuple[str, ...]) -> bool:
    return clause.first(*kinds) is None and target(clause, ctx, kinds) is not None


_SAYS = (
    rx(
        r"(?<![a-z])(?:that |which )?(?:says?|saying|reads?|reading|called|named|titled|with the (?:text"
        r"|words))\s*:?\s*(?P<rest>.+)$"
        r"|(?:写着|写上|内容是|文字是|标题是|标题为|叫做|叫)\s*(?P<zh>.+)$"
    ),
    rx(
        r"(?<![a-z])(?:titles?|captions?|text|subtitles?|heading)(?![a-z-])\s*(?::|to|as|saying)?\s*(?P<rest>.+)$"
        r"|(?:标题|字幕|文字|写|为|:)\s*(?P<zh>.+)$"
    ),
)
_CUT_TAIL = rx(
    r"\s+(?:on|with|in|at|from|for|over|against|that|and|lasting|starting|in the|at the)\s+(?:an?\s+|the\s+)?"
    r"(?:\S+\s+){0,3}?(?:background|gradient|bottom|top|cent(?:er|re)|middle|\d|seconds?|end|start|beginning).*$"
    r"|(?:在|从|放在|用).*$|[，,].*$"
)
_NOT_TEXT = rx(
    r"^(?:it|the|a|an|this|that|please|too|now|here|there|text|title|caption|something|one|them|bigger|smaller|"
    r"top|bottom|center|centre|middle|red|blue|\d.*)$"
)


def unquoted(clause: Clause, *, after_noun: bool = True) -> str | None:
    """Text given without quotes: "a card that says Launch day", "片头写着发布日", and after the noun
    ("add the title Urban Dreams") only when ``after_noun``: the caller heard "add" or "write", so
    "put the title higher up" is never read as a title saying "higher up"."""
    if clause.said:
        return clause.said[0]
    lowered = clause.raw.lower()
    patterns = _SAYS if after_noun else _SAYS[:1]
    match = next((m for m in (p.search(lowered) for p in patterns) if m is not None), None)
    if match is None:
        return None
    start = match.start("rest") if match.group("rest") is not None else match.start("zh")
    text = clause.raw[start:].strip()
    text = _CUT_TAIL.sub("", text).strip().strip(".!?:;,\"'。！？：；").strip()
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I)
    if not text or _NOT_TEXT.match(text.lower()) or words.QUOTE_MARK in text:
        return None
    folded = words.fold(text)
    if words.colours(folded) or words.position(folded) or words.times(folded).any:
        return None
    return text


# --- undo, help, questions ----------------------------------------------------------------------

_UNDO = rx(
    en(r"undo|revert|go back|take (?:that|it) back|undo that|cancel (?:that|the last (?:change|edit))")
    + r"|撤销|撤回|还原|回退|恢复上一步|返回上一步"
)
_REDO = rx(en(r"redo") + r"|重做|恢复撤销")
_HELP = rx(
    r"^(?:help|\?+|what can you do|what do you (?:understand|know|support)|what are (?:the|your) (?:commands|options)|"
    r"how does (?:this|it) work|commands|options|examples"
    r"|帮助|你能做什么|你会什么|怎么用|能做什么|有哪些功能|有什么功能|说明)\W*$"
)
_EXPORT = rx(
    en(
        r"export|render|download|save (?:it|the video|the file|as|to|my)|mp4|1080p|720p|publish|"
        r"(?:share|post|put|upload) (?:it |this |the video )?(?:on|to) (?:youtube|instagram|tiktok|facebook|twitter|x)"
    )
    + r"|导出|渲染|下载|保存|输出|发布|分享到|发到"
)
_CREDITS = rx(
    en(r"credits?|balance|how much (?:does|will) (?:it|this) cost|pricing|price|quota")
    + r"|积分|余额|点数|费用|收费|额度"
)
_STATUS = rx(
    en(
        r"status|state|what'?s (?:on|in) (?:the|my) (?:timeline|project|video)|what do i have so far|"
        r"show (?:me )?(?:the |my )?(?:timeline|project|draft)|summary|where are we|progress"
    )
    + r"|状态|时间线上有什么|当前进度|现在是什么样|进度|查看时间线"
)
_UPLOAD = rx(
    r"(?:^|how (?:do|can) i |can i |i want to |let me |i'?ll |i need to |where do i )upload(?![a-z]*ed)|^上传|怎么上传"
    r"|如何上传|要上传|上传文件|上传素材"
)


# "don't delete the second image" asks for nothing (and must never be read as "delete the second image").
_LEAVE = rx(
    r"^(?:please\s+|and\s+|but\s+|no,?\s+)?(?:don'?t|do not|never|no need to|there'?s no need to"
    r"|i don'?t want (?:you )?to)\s+(?:\w+\s+)?(?:remove|delete|drop|erase|change|touch|edit|cut(?! off)|mute|add"
    r"|replace|rename|shorten|speed|trim)(?![a-z])"
    r"|(?:(?<!要)不要|别|不用|不需要)(?:再)?(?:删|改|加|去掉|静音|剪|换)"
)


def _leave(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("info", {"topic": "leave"})] if _LEAVE.search(c.text) else None


# "should I remove the music?" asks for advice: answered, never done.
_QUESTION = rx(
    r"^(?:should (?:i|we)|shall (?:i|we)|what if (?:i|we)|would it (?:be )?(?:better|good|nicer?) (?:to|if)|"
    r"do you think (?:i|we) should|is it (?:better|ok|a good idea) to|could i|can i)\s+(?P<rest>.+?)\s*\??$"
    r"|^(?:我应该|要不要|是否应该|是不是应该|该不该)(?P<zh>.+?)[?？吗]*$"
)


def _question(c: Clause, ctx: Context) -> list[Command] | None:
    match = _QUESTION.search(c.shown().lower())
    if match is None:
        return None
    return [Command("info", {"topic": "question", "said": (match.group("rest") or match.group("zh")).strip()})]


def _undo(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("undo")] if c.has(_UNDO) else None


def _redo(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("refuse", {"why": "redo"})] if c.has(_REDO) else None


def _help(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("info", {"topic": "help"})] if _HELP.match(c.text) else None


def _info(pattern: re.Pattern[str], topic: str) -> Builder:
    def build(c: Clause, ctx: Context) -> list[Command] | None:
        return [Command("info", {"topic": topic})] if c.has(pattern, in_rest=False) else None

    return build


# --- what the offline editor cannot do ----------------------------------------------------------


@dataclass(frozen=True)
class Unsupported:
    why: str  # the catalogue key of the reason
    pattern: re.Pattern[str]
    en: tuple[str, ...]  # the closest phrasings that work
    zh: tuple[str, ...]


UNSUPPORTED: Final = (
    Unsupported(
        "why_generate",
        rx(
            en(
                r"pixar|disney|ghibli|3d|cartoon(?:ish|y)?|anime|claymation|manga|lego|cyberpunk|watercolou?r|"
                r"oil painting|text[- ]to[- ](?:video|image)|ai[- ]?(?:generated|video|image|art|avatar|animation)|"
                r"midjourney|dall[- ]?e|stable diffusion|sora|seedance|deepfake|avatar"
            )
            + r"|(?<![a-z])(?:generate|create|draw|paint|imagine|invent)\s+(?:an?\s+|some\s+)?(?:new\s+)?"
            r"(?:image|picture|scene|footage|character|animation|drawing|illustration)s?(?![a-z])"
            r"|(?:animation|video|clip|movie|film)\s+of\s+(?:my|a|the|our)\s+(?:dog|cat|pet|baby|kid|son|daughter"
            r"|family|"
            r"friend|face|car|house|wedding)"
            r"|皮克斯|迪士尼|吉卜力|卡通|动漫|二次元|手绘风|ai生成|ai视频|文生视频|图生视频|生成(?:一[个段张])?(?:新的)?"
            r"(?:画面|场景|镜头|图片|图像|人物|动物|角色)"
        ),
        ("turn my images into an animated video", "zoom in on the first photo"),
        ("把我的照片做成动画视频", "第一张照片放大"),
    ),
    Unsupported(
        "why_voice",
        rx(
            en(r"voice[- ]?overs?|narrat\w*|text[- ]to[- ]speech|tts|dub(?:bing|bed)?|read (?:it )?(?:out )?aloud")
            + r"|配音|旁白|解说|朗读|语音合成"
        ),
        ("add background music", "add a caption 'Day one' at 5 seconds"),
        ("加背景音乐", "在5秒处加字幕「第一天」"),
    ),
    Unsupported(
        "why_transcribe",
        rx(
            en(
                r"transcri\w*|auto(?:matic(?:ally)?)?[- ]?(?:subtitles?|captions?)|(?:subtitles?|captions?) "
                r"(?:automatically|from (?:the )?(?:speech|audio|voice|dialog(?:ue)?))"
                r"|generate (?:the )?(?:subtitles?|captions?)|"
                r"speech[- ]to[- ]text"
            )
            + r"|自动字幕|语音转文字|识别字幕|自动生成字幕|语音识别"
        ),
        ("add a caption 'Day one' at 5 seconds",),
        ("在5秒处加字幕「第一天」",),
    ),
    Unsupported(
        "why_matting",
        rx(
            en(
                r"remove (?:the )?background|background remov\w*|green ?screen|chroma ?key|cut (?:me|him|her|them"
                r"|the \w+) out|isolate|mask"
            )
            + r"|抠图|去背景|绿幕|去除背景|移除背景|扣像"
        ),
        ("don't crop the photos", "letterbox with a black background"),
        ("照片完整显示，黑色背景",),
    ),
    Unsupported(
        "why_quality",
        rx(
            en(
                r"upscal\w*|[48]k|enhance|sharpen\w*|denois\w*|super[- ]?resolution|hdr|higher resolution"
                r"|improve (?:the )?quality"
            )
            + r"|高清修复|超分|画质增强|提升画质|修复画质|增强画质"
        ),
        ("export",),
        ("导出",),
    ),
    Unsupported(
        "why_filter",
        rx(
            en(
                r"filters?|colou?r[- ]?grad\w*|lut|cinematic|vintage|retro|black (?:and|&) white|b&w|grayscale"
                r"|greyscale|"
                r"sepia|saturat\w*|brightness|brighter|darker|contrast|exposure|warmer|cooler|vignette|film grain"
                r"|vhs|glow"
            )
            + r"|滤镜|调色|电影感|黑白|复古|亮度|对比度|饱和度|曝光|色调|调亮|调暗|暖色调|冷色调"
        ),
        (
            "fade in from black and fade out to black",
            "letterbox with a black background",
            "make the crossfades 2 seconds",
        ),
        ("开头淡入，结尾淡出", "照片完整显示，黑色背景", "转场2秒"),
    ),
    Unsupported(
        "why_effects",
        rx(
            en(
                r"(?:cool|fun|special|fancy|nice|some|an?) effects?|stickers?|emojis?|confetti|particles?|glitch"
                r"|sparkles?|fireworks?|snow effect|lens flare|shake|split[- ]?screen|picture[- ]in[- ]picture"
                r"|pip|overlay (?:an? )?image|watermark|logo overlay"
            )
            + r"|贴纸|表情|特效|粒子|闪光|分屏|画中画|水印"
        ),
        ("add the title 'Urban Dreams'", "zoom in on the first photo"),
        ("加标题「城市之梦」", "第一张照片放大"),
    ),
    Unsupported(
        "why_tracking",
        rx(
            en(
                r"stabili[sz]\w*|blur (?:the |their |his |her )?(?:face|faces|people|plates?|licen[cs]e)|face"
                r"|lip[- ]?sync|track(?:ing)? (?:the|a) |follow (?:the|my) "
            )
            + r"|防抖|人脸|打码|跟踪|对口型"
        ),
        ("trim the clip to 3 seconds", "use the clip only from 2s to 6s"),
        ("视频片段只用2秒到6秒",),
    ),
    Unsupported(
        "why_aspect",
        rx(
            r"(?<![\d.])(?:4\s*[:x×/]\s*3|3\s*[:x×/]\s*4|4\s*[:x×/]\s*5|5\s*[:x×/]\s*4|21\s*[:x×/]\s*9"
            r"|2\.35\s*:\s*1)(?!\d)"
            r"|cinemascope|4比3"
        ),
        ("make it portrait", "make it landscape", "make it square"),
        ("竖屏", "横屏", "改成方形"),
    ),
    Unsupported(
        "why_translate",
        rx(en(r"translat\w*|in (?:french|spanish|german|japanese|korean)") + r"|翻译|译成"),
        ("change the title to 'Hello world'",),
        ("标题改成「你好世界」",),
    ),
    Unsupported(
        "why_beat",
        rx(
            en(r"(?:to|on|with) the beat|beat[- ]?sync\w*|sync (?:it |the \w+ )?(?:to|with) the music|rhythm")
            + r"|卡点|踩点|节拍|节奏"
        ),
        ("make each image 2 seconds", "add background music"),
        ("每张图片2秒", "加背景音乐"),
    ),
    Unsupported(
        "why_reverse_play",
        rx(
            en(
                r"(?:reverse|rewind) the (?:clip|footage)|play (?:the clip |it |the video |the footage )?backwards?"
                r"|backwards? playback|boomerang"
            )
            + r"|倒放|倒着播放"
        ),
        ("reverse the order", "play the clip in slow motion"),
        ("倒序", "视频片段慢动作"),
    ),
    Unsupported(
        "why_except",
        rx(
            en(
                r"except|excepting|other than|apart from|besides|but (?:not|the|for|keep\w*)|all but"
                r"|(?:keep only|only keep)(?![^,.;]*\d\s*(?:s|secs?|seconds?)(?![a-z]))"
            )
            + r"|除了|以外|之外|只保留|只留下"
        ),
        ("remove the second image", "remove the first two photos"),
        ("删除第二张", "删除前两张"),
    ),
    Unsupported(
        "why_shuffle",
        rx(en(r"shuffle|random(?:ize|ise|ly)?(?: order)?|mix up the order") + r"|随机|打乱"),
        ("reverse the order", "move the clip to the start"),
        ("倒序", "把视频片段移到开头"),
    ),
    Unsupported(
        "why_music_edit",
        rx(
            en(
                r"(?:tempo|pitch|bpm|key) of the (?:music|song)|(?:music|song)'?s? (?:tempo|pitch|bpm)"
                r"|speed up the (?:music|song)|slow down the (?:music|song)|remix|(?:cut|trim) the (?:music"
                r"|song)|loop the (?:music|song)"
            )
            + r"|音乐变速|歌曲变调|剪辑音乐|剪音乐"
        ),
        ("fade out the music at the end", "turn the music down a bit"),
        ("音乐淡出", "音乐小声一点"),
    ),
    Unsupported(
        "why_text_effect",
        rx(
            en(
                r"(?:animat\w*|typewriter|bouncing|spinning|glowing|scrolling|rolling)\s+(?:the\s+)?(?:title|text"
                r"|caption|credits)|"
                r"(?:title|text|caption)s?\s+(?:animation|effect|fly in|slide in)|bold|italic|underlined?|typeface"
                r"|serif|"
                r"(?:change|different|another|other|nicer|cooler|fancy|custom|handwritten|script) fonts?|"
                r"font (?:family|style|face|type)|handwriting|drop shadow|shadow|outline|stroke|(?:title"
                r"|text) background|box behind"
            )
            + r"|换字体|改字体|字体改成|字体换|宋体|黑体|楷体|粗体|加粗|斜体|下划线|描边|阴影|文字动画|打字机|滚动字幕"
        ),
        ("make the title bigger and red", "move the title to the top"),
        ("标题改成红色", "标题放到顶部"),
    ),
    Unsupported(
        "why_more_music",
        rx(
            en(r"(?:second|two|2|another|more|multiple) (?:songs|song|music tracks?|tracks)|mix (?:the |two )?songs")
            + r"|两首|第二首|多首|再加一首"
        ),
        ("add background music", "use song.mp3 as music"),
        ("加背景音乐",),
    ),
)


def _unsupported(c: Clause, ctx: Context) -> list[Command] | None:
    for row in UNSUPPORTED:
        if row.pattern.search(c.text):
            return [Command("refuse", {"why": row.why})]
    return None


# --- building the video -------------------------------------------------------------------------

_BUILD = rx(
    en(r"slide ?shows?|animate[ds]?|animation|animated|montage|photo ?reel")
    + r"|(?<![a-z])(?:turn|make|convert|combine|stitch|edit|put)\b.*\binto\b.*\b(?:a |an )?(?:video|movie|reel|clip"
    r"|film|slideshow)(?![a-z])"
    r"|(?<![a-z])(?:create|make|build|generate|produce|edit|assemble|cut)\s+(?:a|an|my|me a|me an"
    r"|us a)\s+(?:short\s+|quick\s+|little\s+)?"
    r"(?:video|movie|reel|montage|film|highlight reel|compilation)(?![a-z])"
    r"|(?<![a-z])(?:put|place|add|use|include)\s+(?:all|everything|every upload|my uploads|the uploads|all (?:my|the"
    r"|of my|of the) "
    r"(?:photos|images|pictures|clips|media|files|uploads|videos))"
    r"|(?<![a-z])(?:put|place|add)\b.*\b(?:on|onto|to|in) the (?:timeline|video track)"
    r"|幻灯片|动画|做成(?:一个)?(?:视频|短片|影片)|生成(?:一个)?视频|制作(?:一个)?视频|合成(?:一个)?视频|剪成(?:一个)?视频|做个视频"
    r"|做一个视频|(?:放|加)到时间线|用所有|全部放上|把(?:我的|所有的?)?(?:照片|图片|素材|视频).*做成"
)


def _build(c: Clause, ctx: Context) -> list[Command] | None:
    if not c.has(_BUILD, in_rest=False) or c.first(*TEXT_KINDS):
        return None
    return [Command("build")]


_PORTRAIT = rx(
    en(r"portrait|vertical|9\s*[:x×/]\s*16|tiktok|tik tok|douyin|reels|shorts|stories|story format|phone format")
    + r"|竖屏|竖版|竖向|抖音|快手"
)
_LANDSCAPE = rx(
    en(r"landscape|horizontal|widescreen|wide screen|16\s*[:x×/]\s*9|youtube|tv format") + r"|横屏|横版|宽屏|横向"
)
_SQUARE = rx(en(r"square|1\s*[:x×/]\s*1|instagram(?: post)?") + r"|正方形|方形|方屏|1比1")


def _canvas(c: Clause, ctx: Context) -> list[Command] | None:
    for shape, pattern in (("portrait", _PORTRAIT), ("landscape", _LANDSCAPE), ("square", _SQUARE)):
        if c.has(pattern):
            return [Command("canvas", {"shape": shape})]
    return None


_CLEAR = rx(
    en(
        r"(?:clear|empty|wipe|reset|erase)\s+(?:the\s+|my\s+|this\s+)?(?:whole\s+|entire\s+)?(?:timeline|project"
        r"|everything|all)|"
        r"start (?:over|again|from scratch)|(?:remove|delete) everything"
    )
    + r"|清空|重新开始|全部删除|删除所有|删掉全部|全部删掉"
)


def _clear(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("clear")] if c.has(_CLEAR, in_rest=False) else None


_CARD = rx(
    en(
        r"text[- ]only|title card|intro(?:duction)?|outro|opening (?:card|title|screen|slide)|end(?:ing)? (?:card"
        r"|screen|slide)|"
        r"closing (?:card|screen|slide)|text (?:slide|card|screen)|(?:plain|solid|colou?red|gradient|blank) background|"
        r"on (?:an? )?(?:\S+ ){0,3}(?:background|gradient)"
    )
    + r"|纯文字|片头|片尾|文字卡|开场|结尾卡|开头卡|纯色背景|渐变背景|文字视频|(?:\S)色背景上|背景上写"
    + r"|(?:加|做)一?个(?:结尾|开头|开场)(?:画面)?|(?:结尾|开头|结束|开场)画面"
)
_CARD_END = rx(en(r"outro|end(?:ing)?|closing|at the end|last") + r"|片尾|结尾|最后")
_GRADIENT = rx(en(r"gradient|fading from|blend(?:ing)? (?:from|of)") + r"|渐变")


def _card(c: Clause, ctx: Context) -> list[Command] | None:
    colours = words.colours(c.text)
    # "…, blue background" right after a card: its colour.
    about_card = ctx.subject is not None and ctx.subject.kind == "color" and not c.refs and bool(colours)
    if not c.has(_CARD, in_rest=False) and not c.first("color") and not about_card:
        return None
    content = unquoted(c)
    where = "end" if c.has(_CARD_END, in_rest=False) else "start"
    if content is None and colours and (c.first("color") or c.has(_CHANGE, in_rest=False) or about_card):
        ref = c.first("color") or (
            ctx.subject if about_card and ctx.subject else Ref("color", index=-1 if where == "end" else 1)
        )
        return [Command("recolour_card", {"colours": colours[:2]}, (ref,))]
    if content is None and not c.has(
        rx(en(r"text[- ]only|intro|outro|title card|text (?:slide|card)") + r"|纯文字|片头|片尾|文字卡"), in_rest=False
    ):
        return None  # "on a blue background" without words: framing, not a card
    times = c.times
    length = times.length or (times.values[0] if len(times.values) == 1 and times.start is None else None)
    return [
        Command(
            "card",
            {
                "text": content,
                "where": where,
                "colours": colours[:2],
                "gradient": c.has(_GRADIENT, in_rest=False),
                "ms": length,
            },
        )
    ]


# --- text ---------------------------------------------------------------------------------------

_TEXT_NOUN = rx(
    en(r"titles?|headings?|headlines?|captions?|subtitles?|texts?|words|labels?|lines? of text")
    + r"|标题|字幕|文字|文本|文案"
)
_SIZE_WORDS = rx(
    en(r"bigger|larger|big|large|huge|giant|enlarge|smaller|small|tiny|shrink|font size|text size|size|px|pt")
    + r"|大一?点|大一些|放大|变大|加大|更大|大些|调大|大号"
    + r"|小一?点|小一些|缩小|变小|更小|小些|调小|小号|字号|字体大小|大小|太大|太小"
)
_TO_END_TEXT = rx(en(r"at the end|at the very end|in the end|last seconds?|closing") + r"|结尾|最后")
_TO_START_TEXT = rx(en(r"at the (?:start|beginning)|opening") + r"|开头|开始时")


def _text_role(c: Clause) -> str:
    ref = c.first(*TEXT_KINDS)
    kind = ref.kind if ref is not None else "text"
    if kind == "title" and c.has(_ANOTHER, in_rest=False):
        return "text"  # "a second title": a new text, not the title changed
    return kind


def _text_style_args(c: Clause) -> dict[str, Any]:
    size = words.font_size(c.rest)
    scale = words.step(c.rest) if size is None and c.has(_SIZE_WORDS) else None
    return {
        "colour": c.colours[0] if c.colours else None,
        "pos": words.position(c.rest),
        "size": size,
        "scale": scale,
    }


_SHOW_WORDS = rx(en(r"add|write|show|display|type|insert|put up|flash") + r"|显示|写上?|打出|加上?")
_LAST_SECONDS = rx(
    r"(?<![a-z])(?:in|for|during|over) the (?P<edge>last|final|first|opening) (?:(?P<n>\d+(?:\.\d+)?)\s*)?(?:s|secs?"
    r"|seconds?)(?![a-z])|(?P<zh>最后|开头)(?P<zn>\d+(?:\.\d+)?)秒"
)


def _asks_for_new_text(c: Clause) -> bool:
    """Without "add" or "write": "the title 'X'" on its own (from "… with the title 'X'") and "show 'The End'
    at the end" ask for a new text; "show the caption 'Day one' from 2 to 4 s" is about that caption."""
    attached = c.first(*TEXT_KINDS)
    if attached is None or attached.text is None:
        return c.has(_ADD, in_rest=False)
    if c.text[: attached.span[0]].strip() in {"", "a", "an", "the"}:
        return True
    return c.has(_ADD, in_rest=False) and not c.text[attached.span[0] :].startswith("the ")


def _add_text(c: Clause, ctx: Context) -> list[Command] | None:
    # Quoted words to show need no noun: "show 'The End' in the last 3 seconds".
    if not c.has(_TEXT_NOUN, in_rest=False) and not (c.said and c.has(_SHOW_WORDS, in_rest=False) and not c.refs):
        return None
    strict = c.has(_ADD_STRICT, in_rest=False)
    content = unquoted(c, after_noun=strict)
    if not strict and (content is None or c.has(_CHANGE, in_rest=False) or not _asks_for_new_text(c)):
        return None
    times = c.times
    start = times.start
    length = times.length
    if start is None and length is None and len(times.values) == 1:
        length = times.values[0]
    where = "end" if c.has(_TO_END_TEXT) else None
    if edge := _LAST_SECONDS.search(c.text):
        at_end = (edge.group("edge") or edge.group("zh")) in {"last", "final", "最后"}
        length = round(float(edge.group("n") or edge.group("zn") or 1) * 1000)
        where, start = ("end", None) if at_end else (None, 0)
    role = _text_role(c)
    args = {"text": content, "role": role, "start": start, "ms": length, "where": where, **_text_style_args(c)}
    return [Command("add_text", args)]


def _remove_text(c: Clause, ctx: Context) -> list[Command] | None:
    ref = target(c, ctx, TEXT_KINDS)
    if ref is None or not c.has(_REMOVE, in_rest=False):
        return None
    return [Command("remove_text", refs=(ref,))]


_MOVE_WORD = rx(en(r"move|shift|push|put|place|set|start") + r"|移到|移动到|放到|挪到|调到|改到")


def _text_time(c: Clause, ctx: Context) -> list[Command] | None:
    ref = target(c, ctx, TEXT_KINDS)
    times = c.times
    if ref is None or not times.any:
        return None
    if (
        _by_pronoun(c, ctx, TEXT_KINDS)
        and c.has(_WHOLE, in_rest=False)
        and not c.has(rx(en("last|lasts|show") + "|显示|持续"))
    ):
        return None  # "… and make it 15 seconds long": the video
    start, length = times.start, times.length
    if start is None and length is None:
        if c.has(_MOVE_WORD, in_rest=False):
            start = times.values[0]
        else:
            length = times.values[0]
    timed = [Command("text_time", {"start": start, "ms": length}, (ref,))]
    return timed + (_text_style(c, ctx) or [])  # "put the caption at the bottom from 2 to 4 seconds"


def _text_style(c: Clause, ctx: Context) -> list[Command] | None:
    ref = target(c, ctx, TEXT_KINDS)
    if ref is None or c.has(_BACKGROUND, in_rest=False):
        return None  # a text has no background of its own: "…, black background" is about the picture
    args = _text_style_args(c)
    if all(v is None for v in args.values()):
        return None
    return [Command("text_style", args, (ref,))]


_BACKGROUND = rx(en("background|backdrop") + "|背景")
_TO = rx(r"(?<![a-z])(?:to|into|as)\s+(?P<rest>.+)$|(?:改成|改为|换成|变成|替换成|改)\s*(?P<zh>.+)$")


def _set_text(c: Clause, ctx: Context) -> list[Command] | None:
    if not c.has(_CHANGE, in_rest=False):
        return None
    said = c.said
    ref = target(c, ctx, TEXT_KINDS)
    if len(said) >= 2:
        ref = ref if ref is not None and ref.text == said[0] else Ref("text", text=said[0])
        return [Command("set_text", {"text": said[-1]}, (ref,))]
    if ref is None:
        return None
    if ref.text is not None and said and ref.text == said[0]:
        ref = Ref(ref.kind)  # "rename the title 'X'": the quote is the new text
    new = said[0] if said else None
    if new is None:
        match = _TO.search(c.raw)
        if match is None:
            return None
        candidate = (match.group("rest") or match.group("zh") or "").strip().strip(".!?。！？").strip()
        folded = words.fold(candidate)
        if (
            not candidate
            or _NOT_TEXT.match(folded)
            or words.colours(folded)
            or words.position(folded)
            or words.times(folded).any
        ):
            return None
        new = candidate
    return [Command("set_text", {"text": new}, (ref,))]


# --- music --------------------------------------------------------------------------------------

_FADE = rx(en(r"fade[sd]?|fading|fade-in|fade-out") + r"|淡入|淡出|渐入|渐出|渐强|渐弱|渐隐|渐显")
# "fade the music in", "fade it out": up to three words between the verb and its direction.
_FADE_IN = rx(
    en(r"fad(?:e[sd]?|ing)(?:\s+[a-z']+){0,3}?\s*-?\s*in|fade up|in and out|in & out|at the (?:start|beginning)")
    + r"|淡入|渐入|渐强|渐显|开头"
)
_FADE_OUT = rx(
    en(r"fad(?:e[sd]?|ing)(?:\s+[a-z']+){0,3}?\s*-?\s*out|fade down|fade away|in and out|in & out|at the end|to black")
    + r"|淡出|渐出|渐弱|渐隐|结尾"
)
_VOLUME = rx(
    en(
        r"volume|loud(?:er|ness)?|quiet(?:er)?|soft(?:er)?|level|gain|turn (?:it |this |the \w+ )?(?:up|down)"
        r"|mute[sd]?|silence|up|down|lower|raise|boost|reduce"
    )
    + r"|音量|大声|小声|声音|静音|调高|调低|调大|调小|大一?点|小一?点|轻一?点|响一?点"
)
_MUTE = rx(
    en(
        r"mute[sd]?|silence|silent|no sound|without sound|(?:turn|switch) off (?:the |its "
        r"|their )?(?:\w+'s )?(?:sound|audio)|"
        r"kill the sound|turn (?:the |its |their )?(?:\w+'s )?(?:sound|audio|volume) off|don'?t want (?:the "
        r"|its )?(?:\w+'s )?"
        r"(?:original )?(?:sound|audio)"
    )
    + r"|静音|无声|关掉声音|关闭声音|关闭原声|关掉原声|去掉原声|声音关掉|声音关了|声音去掉|不要声音|不要原声|原声关掉"
)
_UNMUTE = rx(
    en(
        r"unmute[sd]?|keep (?:the |its |their )?(?:\w+'s )?(?:own )?(?:original )?(?:sound|audio)|restore (?:the "
        r"|its )?(?:\w+'s )?(?:sound|audio)|turn (?:the |its )?(?:sound|audio) (?:back )?on|with (?:its"
        r"|the) sound"
    )
    + r"|取消静音|保留原声|恢复原声|打开原声|恢复声音"
)
_DUCK = rx(
    en(r"duck(?:ing|ed|s)?|side-?chain")
    + r"|(?<![a-z])(?:lower|quieter|softer|down|reduce|dip|drop|duck)\b.*\b(?:when|while|during|under|whenever|as)\b.*"
    r"\b(?:clip|video|talk|talks|speak|speaks|speech|voice|people|dialog(?:ue)?|sound|plays?|playing)(?![a-z])"
    r"|(?<![a-z])(?:when|while|whenever)\s+(?:people|someone|they|i|we|he|she)\s+(?:talk|speak)"
    r"|避让|闪避|压低|自动降低|(?:说话|人声|讲话|视频片段|片段|原声|视频)(?:播放|出声|响起)?(?:的)?(?:时候?|时).*(?:降低|小|压低|减弱)"
)


def _music_target(c: Clause, ctx: Context) -> Ref | None:
    return target(c, ctx, ("music",))


# Fades said without the word: "start quiet and get louder", "die down at the end".
_SWELL = rx(
    en(r"start(?:s|ing)? (?:out )?(?:quiet|soft|low)\w*|build(?:s|ing)? up|swell\w*|ramp(?:s|ing)? up")
    + r"|由小到大|逐渐变大|慢慢变大"
)
_DIE = rx(
    en(r"die(?:s)? (?:down|away|out)|end(?:s|ing)? (?:quiet|soft)\w*|get(?:s)? quieter at the end|trail(?:s)? off")
    + r"|由大到小|逐渐变小|慢慢变小"
)


def _music_fade(c: Clause, ctx: Context) -> list[Command] | None:
    ref = _music_target(c, ctx)
    swell, die = c.has(_SWELL, in_rest=False), c.has(_DIE, in_rest=False)
    if ref is None or not (c.has(_FADE, in_rest=False) or swell or die):
        return None
    fade_in = c.has(_FADE_IN, in_rest=False) or swell
    fade_out = c.has(_FADE_OUT, in_rest=False) or die
    which = "both" if fade_in and fade_out else "in" if fade_in else "out"
    times = c.times
    ms = times.length or (times.values[0] if times.values else None)
    return [Command("music_fade", {"which": which, "ms": ms, "off": c.has(_NEGATE, in_rest=False)})]


def _duck(c: Clause, ctx: Context) -> list[Command] | None:
    if not c.has(_DUCK, in_rest=False):
        return None
    if _music_target(c, ctx) is None and not c.has(rx(en("duck|ducking|side-?chain") + "|避让|闪避"), in_rest=False):
        return None
    off = c.has(rx(en(r"don'?t|do not|no|stop|without|turn off|disable") + r"|不要|取消|关闭|别"), in_rest=False)
    return [Command("duck", {"on": not off, "level": words.percent(c.text)})]


def _remove_music(c: Clause, ctx: Context) -> list[Command] | None:
    ref = _music_target(c, ctx)
    if (
        ref is None
        or not c.has(_REMOVE, in_rest=False)
        or words.percent(c.text) is not None
        or c.has(_MUTE, in_rest=False)
    ):
        return None
    return [Command("remove_music")]


_SET_LEVEL = rx(en("to|set|turn|make") + "|调到|设为|改为|改成")


def _music_volume(c: Clause, ctx: Context) -> list[Command] | None:
    ref = _music_target(c, ctx)
    if ref is None or c.has(_ADD_STRICT, in_rest=False):
        return None
    level = words.percent(c.text)
    if level is None and c.has(_MUTE, in_rest=False):
        level = 0.0
    change = words.step(c.rest) if level is None else None
    if level is None and change is None:
        return None
    plain = level is not None and not c.has(_VOLUME, in_rest=False) and ref.name is None and c.first("music")
    if plain and not c.has(_SET_LEVEL, in_rest=False):
        return None  # "background music at 30%": add it at that level
    return [Command("music_volume", {"level": level, "step": change})]


_MUSIC_VERB = rx(
    en(r"add|use|put|play|include|want|need|with|insert|give|choose|pick|set|switch to|change (?:it |the \w+ )?to")
    + r"|加|配|用|换|插入|放"
)
_MUSIC_ONLY = rx(r"^(?:some |the |a |my )?(?:background )?(?:music|song|soundtrack|bgm)\b|^(?:背景音乐|音乐|配乐)")


def _add_music(c: Clause, ctx: Context) -> list[Command] | None:
    ref = c.first("music")
    if ref is None:
        return None
    if c.has(_REMOVE, in_rest=False) and not c.has(_ADD_STRICT, in_rest=False):
        return None
    if not c.has(_MUSIC_VERB, in_rest=False) and not _MUSIC_ONLY.search(c.text):
        return None  # "fix the music" says nothing about which music or how
    name = next((r.name for r in c.all("music") if r.name), None)
    return [Command("add_music", {"volume": words.percent(c.text), "name": name})]


# --- a clip's own sound, speed, trim ------------------------------------------------------------

_CLIP_SOUND = rx(
    en(r"mute[sd]?|unmute[sd]?|silence|silent|sound|audio|volume|voices?|loud(?:er)?|quiet(?:er)?|noise")
    + r"|静音|原声|声音|音量|原音|取消静音"
)


def _clip_volume(c: Clause, ctx: Context) -> list[Command] | None:
    if c.first("music") or not c.has(_CLIP_SOUND, in_rest=False) or c.has(_DUCK, in_rest=False):
        return None
    if ctx.subject is not None and ctx.subject.kind == "music" and (c.pronoun or not c.refs):
        return None
    ref = target(c, ctx, ITEM_KINDS)
    bare = ref is None
    if bare:
        if not c.has(_MUTE, in_rest=False) and not c.has(rx(r"原声|原音"), in_rest=False):
            return None
        ref = Ref("clip", "all")
    if c.has(_UNMUTE, in_rest=False):
        level: float | None = 1.0
    elif c.has(_MUTE, in_rest=False) or (c.has(_REMOVE, in_rest=False) and words.percent(c.text) is None):
        level = 0.0
    else:
        level = words.percent(c.text)
    change = words.step(c.rest) if level is None else None
    if level is None and change is None:
        return None
    return [
        Command("clip_volume", {"level": level, "step": change, "bare": bare or None}, (ref or Ref("clip", "all"),))
    ]


_SPEED = rx(
    en(
        r"speed(?:s|ed)? up|speed|faster|slower|slow(?:s|ed)? (?:it )?down|slow[- ]?mo(?:tion)?|slowmo"
        r"|fast[- ]?forward|"
        r"time[- ]?lapse|playback rate|double speed|half speed|quarter speed|twice as fast|real[- ]?time"
    )
    + r"|倍速|加速|减速|慢动作|慢放|快放|快进|速度|慢镜头|原速|快一?点|慢一?点"
)
_FASTER = rx(en(r"speed(?:s|ed)? up|faster|fast[- ]?forward|time[- ]?lapse|quicker") + r"|加速|快放|快进|快一?点")


def _speed(c: Clause, ctx: Context) -> list[Command] | None:
    ref = target(c, ctx, ITEM_KINDS)
    factor = words.speed_factor(c.text)
    if not c.has(_SPEED, in_rest=False) and not (
        factor is not None and ref is not None and ref.kind in {"clip", "video"}
    ):
        return None
    change = None
    if factor is None:
        little = c.has(rx(en(r"a (?:little )?bit|slightly|a little|a touch") + r"|一点|稍微|一些"), in_rest=False)
        faster = c.has(_FASTER, in_rest=False)
        change = (1.25 if little else 2.0) if faster else (0.8 if little else 0.5)
    return [Command("speed", {"factor": factor, "step": change}, (ref or Ref("clip"),))]


_NUM = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|half a)"
_HEAD = rx(
    rf"(?<![a-z])(?:cut|trim|remove|skip|drop|lose|delete|chop)(?: off)?\s+(?:the\s+)?first\s+(?:{_NUM}\s*)?(?:s"
    rf"|secs?|seconds?)(?![a-z])"
    r"|(?:剪掉|去掉|删掉|裁掉|不要)前\s*(\d+(?:\.\d+)?)\s*秒"
)
_TAIL = rx(
    rf"(?<![a-z])(?:cut|trim|remove|skip|drop|lose|delete|chop)(?: off)?\s+(?:the\s+)?(?:last"
    rf"|final)\s+(?:{_NUM}\s*)?(?:s|secs?|seconds?)(?![a-z])"
    r"|(?:剪掉|去掉|删掉|裁掉|不要)(?:后|最后)\s*(\d+(?:\.\d+)?)\s*秒"
)
_KEEP_HEAD = rx(
    rf"(?<![a-z])(?:only|just)\s+(?:use|keep|play|show)?\s*(?:the\s+)?first\s+{_NUM}\s*(?:s|secs?|seconds?)(?![a-z])"
    r"|只(?:要|用|保留|留)前\s*(\d+(?:\.\d+)?)\s*秒"
)
_TRIM = rx(
    en(r"trim|cut|only|just|use|keep|play|start|starting|begin|from|skip") + r"|剪|裁|只要|只用|只保留|截取|从|开始"
)


def _seconds_of(match: re.Match[str]) -> int:
    value = next((g for g in match.groups() if g is not None), "1")
    return round(words.number(value) * 1000)


def _trim(c: Clause, ctx: Context) -> list[Command] | None:
    ref = target(c, ctx, ("clip", "video"))
    other = c.first("image", "gif", "item", "color", *TEXT_KINDS)
    if ref is None and other is not None:
        return None
    times = c.times
    args: dict[str, Any] | None = None
    if match := _HEAD.search(c.text):
        args = {"cut_head": _seconds_of(match)}
    elif match := _TAIL.search(c.text):
        args = {"cut_tail": _seconds_of(match)}
    elif match := _KEEP_HEAD.search(c.text):
        args = {"start": 0, "end": _seconds_of(match)}
    elif times.end is not None and times.start is not None:
        args = {"start": times.start, "end": times.end}
    elif times.start is not None and ref is not None and c.has(_TRIM, in_rest=False):
        args = {"start": times.start}
    if args is None or (ref is None and not c.has(_TRIM, in_rest=False)):
        return None
    return [Command("trim", args, (ref or Ref("clip"),))]


# --- framing, motion, transitions, fades --------------------------------------------------------

_UNFIT = rx(
    en(r"no (?:black )?bars|remove the (?:black )?bars|no letter-?box(?:ing)?|get rid of the (?:black )?bars")
    + r"|去掉黑边|不要黑边|去黑边"
)
_FIT = rx(
    en(
        r"fit|fits|fitted|letter-?box(?:ed|ing)?|pillar-?box(?:ed|ing)?|black bars|bars|(?:don'?t|do not|no|without"
        r"|never|stop|not) "
        r"(?:crop(?:ping)?|cut off)|uncropped|not cropped|whole (?:photo|picture|image|frame|thing|pic)"
        r"|entire (?:photo|picture|image)|"
        r"full (?:photo|picture|image)|show (?:all|everything|the whole)|blur(?:red|ry)? background|background blur|"
        r"(?:\w+ )?background colou?r|(?:black|white|grey|gray|blue|red|green|yellow|pink|purple|orange|colou?red"
        r"|solid) background"
    )
    + r"|完整显示|显示完整|不要裁剪|不裁剪|别裁剪|适应画面|留黑边|黑边|加黑边"
    + r"|模糊背景|背景模糊|.色背景|背景(?:改成|换成|用)|完整"
)
_FILL = rx(
    en(
        r"fill(?:s|ing)?(?: the)?(?: whole)? (?:frame|screen|canvas)|fill it|crop(?:ped)? to fill|crop(?:ped|ping)?"
        r"|zoom to fill|"
        r"full[- ]?screen|edge to edge"
    )
    + r"|铺满|填满|填充画面|裁剪填充|裁剪|全屏"
)
_BLUR = rx(en(r"blur(?:red|ry)?") + r"|模糊")


def _framing(c: Clause, ctx: Context) -> list[Command] | None:
    if c.has(_UNFIT, in_rest=False):
        mode = "fill"
    elif c.has(_FIT, in_rest=False):
        mode = "fit"
    elif c.has(_FILL, in_rest=False):
        mode = "fill"
    else:
        return None
    bg = None
    if mode == "fit":
        if c.has(_BLUR, in_rest=False):
            bg = "blur"
        elif c.colours:
            bg = c.colours[0]
        elif c.has(rx(en("black bars|bars") + "|黑边"), in_rest=False):
            bg = "#000000"
    refs = tuple(r for r in c.refs if r.kind in ITEM_KINDS and r.kind != "video")
    if not refs and ctx.subject is not None and ctx.subject.kind in ITEM_KINDS and c.pronoun:
        refs = (ctx.subject,)
    return [Command("framing", {"mode": mode, "bg": bg}, refs)]


_MOTIONS: Final = (
    (
        "none",
        rx(
            en(
                r"still|static|motionless|no (?:motion|movement|zoom(?:ing)?|animation|effects?|ken ?burns"
                r"|pan(?:ning)?)|"
                r"(?:don'?t|do not|stop|never) (?:move|moving|zoom(?:ing)?|animat\w*|pan(?:ning)?)|without (?:motion"
                r"|movement|zoom(?:ing)?)|"
                r"(?:remove|turn off|disable|stop|kill) (?:the )?(?:zoom(?:ing)?|motion|animation|ken ?burns"
                r"|movement)|freeze|"
                r"stop\b.*\bfrom (?:zoom|mov|pann|animat)\w*|keep\b.*\bstill|no more (?:zoom|motion)\w*"
            )
            + r"|静止|不要动|不动|不要缩放|去掉动画|去掉动效|不要动效|关闭动效|不要放大|固定|去掉缩放"
        ),
    ),
    ("zoom_out", rx(en(r"zoom(?:s|ing)?\s*-?\s*out|pull(?:s|ing)? (?:back|out)") + r"|缩小|拉远|拉镜头")),
    (
        "pan_left",
        rx(
            en(r"pan(?:s|ning)?\s+(?:to\s+(?:the\s+)?)?left|slide (?:to the )?left|drift left")
            + r"|向左平移|左移|往左|向左"
        ),
    ),
    (
        "pan_right",
        rx(
            en(
                r"pan(?:s|ning)?\s+(?:to\s+(?:the\s+)?)?right|slide (?:to the )?right|drift right|pan(?:s"
                r"|ning)?(?: across| over)?"
            )
            + r"|向右平移|右移|往右|向右|平移"
        ),
    ),
    (
        "zoom_in",
        rx(en(r"zoom(?:s|ing)?(?:\s*-?\s*in)?|push(?:es|ing)? in|ken ?burns|slow zoom") + r"|放大|推近|推镜头|拉近"),
    ),
)


_MOTION_WORD = rx(en(r"zoom\w*|motion|movement|animation|ken ?burns|pann\w*|pan") + r"|动效|缩放|平移|动画")


def _motion(c: Clause, ctx: Context) -> list[Command] | None:
    if c.first(*TEXT_KINDS):
        return None
    # Any motion word with a "no" is a request for none ("get rid of the zoom effect").
    negated = c.has(_MOTION_WORD) and c.has(_NEGATE)
    for fx, pattern in _MOTIONS:
        if (fx == "none" and negated) or c.has(pattern):
            refs = tuple(r for r in c.refs if r.kind in ITEM_KINDS)
            if not refs:
                subject = ctx.subject
                refs = (
                    (subject,)
                    if subject is not None and subject.kind in ITEM_KINDS and c.pronoun
                    else (Ref("image", "all"),)
                )
            return [Command("motion", {"fx": fx}, refs)]
    return None


_XFADE = rx(
    en(r"cross-?fades?|cross fades?|dissolves?|transitions?|blend(?:s|ing)?|crossfading")
    + r"|转场|过渡|交叉淡化|叠化|溶解"
)
_CUTS = rx(
    en(r"hard cuts?|straight cuts?|just cuts?|cut straight|jump cuts?|simple cuts?|cuts? only|only cuts")
    + r"|硬切|直接切换|直接切"
)


def _crossfade(c: Clause, ctx: Context) -> list[Command] | None:
    if c.has(_CUTS):
        return [Command("crossfade", {"ms": 0})]
    if not c.has(_XFADE):
        return None
    if c.has(_NEGATE):
        return [Command("crossfade", {"ms": 0})]
    times = c.times
    ms = times.length or (times.values[0] if times.values else None)
    change = words.step(c.rest) if ms is None else None
    return [Command("crossfade", {"ms": ms, "step": change})]


_BLACK_IN = rx(
    en(r"fade[sd]?\s*-?\s*in|fade up|from black|fade from|open(?:s|ing)? (?:with|on) (?:a )?fade|in and out")
    + r"|淡入|从黑场|黑场淡入|渐显"
)
_BLACK_OUT = rx(
    en(r"fade[sd]?\s*-?\s*out|to black|fade at the end|end(?:s|ing)? (?:with|on) (?:a )?fade|in and out")
    + r"|淡出|到黑场|黑场淡出|渐隐"
)


def _fade_black(c: Clause, ctx: Context) -> list[Command] | None:
    if not (c.has(_FADE, in_rest=False) or c.has(rx(en("from black|to black") + "|黑场"), in_rest=False)):
        return None
    fade_in, fade_out = c.has(_BLACK_IN, in_rest=False), c.has(_BLACK_OUT, in_rest=False)
    if not fade_in and not fade_out:
        fade_in = c.has(rx(en(r"start|beginning|opening") + r"|开头|开始"), in_rest=False)
        fade_out = not fade_in
    which = "both" if fade_in and fade_out else "in" if fade_in else "out"
    times = c.times
    ms = times.length or (times.values[0] if times.values else None)
    # "fade out at the end" means the sound too; "fade to black" is about the picture.
    with_music = not c.has(rx(en("black") + "|黑"), in_rest=False)
    return [
        Command("fade_black", {"which": which, "ms": ms, "off": c.has(_NEGATE, in_rest=False), "music": with_music})
    ]


# --- items on the video track -------------------------------------------------------------------

_SWAP = rx(en(r"swap|switch|exchange|trade (?:places|spots)|interchange") + r"|交换|互换|调换|对调|换一下位置|换位置")
_REVERSE = rx(
    en(
        r"reverse(?:d)?(?: the)? order|in reverse(?: order)?|reverse (?:it|everything|all|the (?:sequence|slideshow"
        r"|timeline|video|photos|"
        r"images|items|pictures))|backwards order|opposite order|flip the order|other way (?:round|around)"
        r"|order reversed|reverse"
    )
    + r"|倒序|反过来|倒过来|顺序颠倒|逆序|反序|颠倒顺序|顺序反"
)
_MOVE = rx(
    en(r"move|put|place|bring|send|shift|drag|make|set|position|reorder|go|slot|stick|come|comes|be|appear")
    + r"|移到|移动到|放到|放在|挪到|调到|移至|放至|换到|排到|排在|移|挪|放"
)
_TO_START = rx(
    en(r"start|beginning|front|top|head|first|begin|opening") + r"|开头|最前面?|第1个位置|最开始|前面去|首位|第1位"
)
# "last" as a place, not as in "make the gif last longer".
_TO_END = rx(
    en(
        r"end|back|bottom|tail|last(?!\s+(?:longer|shorter|for|\d|a |an |one|two|three|four|five|ten))|finish|ending"
        r"|close"
    )
    + r"|最后面?|末尾|结尾|最后一个位置|后面去|末位|最后"
)
_START_WITH = rx(en(r"(?:start|begin|open)s?(?: the (?:video|slideshow))? with|lead with|kick off with"))
_END_WITH = rx(en(r"(?:end|finish|close)s?(?: the (?:video|slideshow))? with"))
_ZH_PLACE = rx(r"(?:移到|放到|挪到|调到|放在|排到|排在|换到|到)第(\d{1,2})(?:个|张|段)?(?:位置|位)?")
_TO_PLACE = rx(
    r"(?:position|place|spot|slot)\s*(?:number\s*|no\.?\s*|#)?(\d{1,2})|(?<![a-z])(\d{1,2})(?:st|nd|rd"
    r"|th)\s+(?:place|position|spot|slot)"
    r"|第(\d{1,2})个?(?:位置|位)|(?<![a-z])(?:the\s+)?(second|third|fourth|fifth|sixth|seventh|eighth|ninth"
    r"|tenth)(?:\s+(?:one|item|place|position|spot))?(?![a-z])"
)
_BEFORE = rx(en(r"before|in front of|ahead of|preceding|just before") + r"|之前|前面|前边|前头")
_AFTER = rx(en(r"after|behind|following|next to|right after|just after") + r"|之后|后面|后边|后头")
_PLACE_WORDS: Final = {
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}


def _item_refs(c: Clause, ctx: Context, *, video_is_clip: bool = True) -> list[Ref]:
    """The items a clause names; "the video" is the clip when an item is meant ("put the video first")."""
    found = [
        Ref("clip", r.count, r.index, span=r.span) if r.kind == "video" else r
        for r in c.refs
        if r.kind in ITEM_KINDS and (video_is_clip or r.kind != "video")
    ]
    if not found and ctx.subject is not None and ctx.subject.kind in ITEM_KINDS and c.pronoun:
        found = [ctx.subject]
    return found


def _destination(c: Clause, refs: list[Ref]) -> dict[str, Any] | None:
    if match := _ZH_PLACE.search(c.text):
        return {"where": "place", "place": int(match.group(1))}
    if c.has(_START_WITH):
        return {"where": "start"}
    if c.has(_END_WITH):
        return {"where": "end"}
    if len(refs) >= 2 and (c.has(_BEFORE) or c.has(_AFTER)):
        return {"where": "before" if c.has(_BEFORE) and not c.has(_AFTER) else "after"}
    if match := _TO_PLACE.search(c.rest):
        number = next(g for g in match.groups() if g is not None)
        return {"where": "place", "place": _PLACE_WORDS.get(number) or int(number)}
    if c.has(_TO_START):
        return {"where": "start"}
    if c.has(_TO_END):
        return {"where": "end"}
    return None


def _swap(c: Clause, ctx: Context) -> list[Command] | None:
    refs = _item_refs(c, ctx)
    if not c.has(_SWAP, in_rest=False) or len(refs) < 2:
        return None
    return [Command("swap", refs=(refs[0], refs[1]))]


def _reverse(c: Clause, ctx: Context) -> list[Command] | None:
    return [Command("reverse")] if c.has(_REVERSE, in_rest=False) else None


def _move(c: Clause, ctx: Context) -> list[Command] | None:
    refs = _item_refs(c, ctx)
    if not refs or not (c.has(_MOVE) or c.has(_START_WITH) or c.has(_END_WITH)):
        return None
    where = _destination(c, refs)
    if where is not None and where["where"] == "place" and (place := _ZH_PLACE.search(c.text)):
        # "放到第一个": 第一个 is the place, not an item.
        refs = [r for r in refs if not (place.start() <= r.span[0] < place.end())] or refs
    if where is None:
        return None
    return [Command("move", where, tuple(refs[:2]) if where["where"] in {"before", "after"} else (refs[0],))]


_CUT_ITEM = rx(en(r"cut|lose|skip") + r"|剪掉")


def _remove_item(c: Clause, ctx: Context) -> list[Command] | None:
    refs = _item_refs(c, ctx, video_is_clip=False)  # "delete the video" might mean everything
    if not refs:
        return None
    if not (c.has(_REMOVE, in_rest=False) or (c.has(_CUT_ITEM, in_rest=False) and not c.times.any)):
        return None
    return [Command("remove_item", refs=tuple(refs))]


_EACH = rx(
    en(
        r"(?:each|every|per|all(?: the| my)?|the|my) (?:images?|photos?|pictures?|pics?|slides?|stills?)|(?:images"
        r"|photos|pictures|slides) .*each"
    )
    + r"|每张|每个|每幅|每[一1]张|所有(?:的)?(?:图片|照片)|图片都|照片都"
)


def _length_of(c: Clause) -> int | None:
    times = c.times
    if times.length is not None:
        return times.length
    if times.start is None and len(times.values) == 1:
        return times.values[0]
    return None


def _item_length(c: Clause, ctx: Context) -> list[Command] | None:
    refs = _item_refs(c, ctx, video_is_clip=False)  # "make the video 20 seconds" is its whole length
    if not refs:
        return None
    if _by_pronoun(c, ctx, ITEM_KINDS) and c.has(_WHOLE, in_rest=False):
        return None  # "… and make it 15 seconds long": the video
    ref = refs[0]
    if ref.count == "all" and ref.kind == "image":
        return None  # every photo: the next row
    length = _length_of(c)
    change = _change_of(c) if length is None else None
    if length is None and change is None:
        return None
    return [Command("item_length", {"ms": length, "step": change}, (ref,))]


_RELATIVE = rx(
    en(r"longer|shorter|less time|more time|too long|too short|quicker|faster paced|slower paced")
    + r"|长一?点|短一?点|更长|更短|太长|太短|缩短|延长"
)


def _change_of(c: Clause) -> float | None:
    """A step for lengths ("shorter", "too long", "太长"); None when no length change is asked."""
    if not c.has(_RELATIVE, in_rest=False):
        return None
    if c.has(rx(en(r"too long|quicker|faster paced") + r"|太长|缩短"), in_rest=False):
        return 0.75
    if c.has(rx(en(r"too short|slower paced") + r"|太短|延长"), in_rest=False):
        return 1 / 0.75
    return words.step(c.rest)


def _photo_length(c: Clause, ctx: Context) -> list[Command] | None:
    length = _length_of(c)
    change = _change_of(c) if length is None else None
    if (length is None and change is None) or not c.has(_EACH, in_rest=False):
        return None
    return [Command("photo_length", {"ms": length, "step": change})]


_RESIZE = rx(en(r"make it|it|shorten|lengthen|cut it|trim it|bring it") + r"|做成|缩短|延长|剪到|压缩到|改成|一共|总共")


def _total_length(c: Clause, ctx: Context) -> list[Command] | None:
    length = _length_of(c)
    change = _change_of(c) if length is None else None
    if length is None and change is None:
        return None
    if not c.has(_WHOLE, in_rest=False) and not c.has(_RESIZE, in_rest=False):
        return None
    if any(r.kind not in {"video", "pronoun"} for r in c.refs):
        return None
    return [Command("total_length", {"ms": length, "step": change})]


_AGAIN = rx(en(r"again|another copy|a copy|twice|duplicate") + r"|再(?:加|放)一次|再来一张|复制")


def _add_item(c: Clause, ctx: Context) -> list[Command] | None:
    named = [r for r in c.refs if r.name and r.kind in {"image", "gif", "clip", "item"}]
    if not named or not c.has(_ADD, in_rest=False):
        return None
    where = _destination(c, [r for r in c.refs if r.kind in ITEM_KINDS]) or {"where": "end"}
    others = tuple(r for r in c.refs if r.kind in ITEM_KINDS and r is not named[0])
    return [Command("add_item", {"name": named[0].name, "again": c.has(_AGAIN, in_rest=False), **where}, others[:1])]


# --- the table, in the order the parser tries it -------------------------------------------------

TABLE: Final[tuple[Phrase, ...]] = (
    Phrase("undo", "undo", ("the last change, back", "撤销上一次修改"), ("undo", "go back"), ("撤销", "撤回"), _undo),
    Phrase(
        "refuse",
        "undo",
        ("redo is not possible: say the instruction again", "不能重做：请重新发送指令"),
        ("redo",),
        ("重做",),
        _redo,
    ),
    Phrase("info", "help", ("this list", "显示这份说明"), ("help", "what can you do?"), ("帮助", "你能做什么"), _help),
    Phrase(
        "refuse",
        "help",
        (
            "explains what needs the cloud (3D or AI animation, voice-over, filters, …) and what to say instead",
            "说明哪些需要云端（3D或AI动画、配音、滤镜等）以及可以怎么说",
        ),
        ("make me a Pixar-style 3D animation of my dog", "add a voice-over"),
        ("帮我生成一个皮克斯风格的3D动画", "加配音"),
        _unsupported,
    ),
    Phrase(
        "info",
        "help",
        ("leaves things as they are when told not to change them", "说“不要删除/修改……”时保持不变"),
        ("don't delete the second image", "never mute the clip"),
        ("不要删除标题", "别改音乐"),
        _leave,
    ),
    Phrase(
        "clear",
        "build",
        ("empties the timeline", "清空时间线"),
        ("clear the timeline", "start over"),
        ("清空时间线", "重新开始"),
        _clear,
    ),
    Phrase(
        "card",
        "text",
        (
            "a text-only intro or outro (or a whole text-only video): the words on a solid colour or gradient "
            "that drifts "
            "gently, 3 s unless you say",
            "纯文字片头或片尾（或整个纯文字视频）：文字在缓缓流动的纯色或渐变背景上，默认3秒",
        ),
        (
            "make a text-only intro that says 'Launch day' on a blue background",
            "add an outro that says 'Thanks for watching' on a gradient from purple to pink",
        ),
        ("做一个纯文字片头，写着「发布日」，蓝色背景", "加一个片尾，写着「谢谢观看」，紫色到粉色渐变背景"),
        _card,
    ),
    Phrase(
        "info",
        "help",
        ("answers how to export (ask for it in the chat)", "说明如何导出（在对话里直接让我导出）"),
        ("export 1080p MP4", "download the video"),
        ("导出", "下载视频"),
        _info(_EXPORT, "export"),
        also=True,
    ),
    Phrase(
        "info",
        "help",
        ("credits (offline editing is free)", "积分（离线编辑免费）"),
        ("how many credits do I have?",),
        ("积分还有多少", "余额"),
        _info(_CREDITS, "credits"),
    ),
    Phrase(
        "info",
        "help",
        ("shows the timeline", "显示当前时间线"),
        ("status", "show me the timeline"),
        ("状态", "查看时间线"),
        _info(_STATUS, "status"),
    ),
    Phrase(
        "info",
        "help",
        ('answers a question ("should I …?") without changing anything', "对“要不要……”这类提问不做修改"),
        ("should I remove the music?",),
        ("要不要去掉音乐",),
        _question,
    ),
    Phrase(
        "build",
        "build",
        (
            "every upload on the video track in upload order: photos slowly zoom in, "
            "clips keep their length and sound, "
            "GIFs play; the canvas follows most of the media's shape",
            "把所有上传的素材按上传顺序放到视频轨道：照片缓慢推近，视频保留原长和原声，"
            "动图播放；画布方向跟随大多数素材",
        ),
        ("turn my images into an animated video", "make a slideshow"),
        ("把我的照片做成视频", "做成幻灯片"),
        _build,
        also=True,
    ),
    Phrase(
        "canvas",
        "canvas",
        ("portrait 1080x1920, landscape 1920x1080 or square 1080x1080", "竖屏1080x1920、横屏1920x1080或方形1080x1080"),
        ("make it landscape", "square format for Instagram"),
        ("横屏", "改成方形"),
        _canvas,
        also=True,
    ),
    Phrase(
        "remove_text",
        "text",
        ("removes one text, or all", "删除一段文字或全部文字"),
        ("remove the caption 'Day one'", "remove all text"),
        ("删除标题", "去掉所有字幕"),
        _remove_text,
    ),
    Phrase(
        "add_text",
        "text",
        (
            "a title (the first text; 0–3 s, centred) or any number of more texts at a time, for a length, "
            "with a size, colour and place",
            "标题（第一段文字，0–3秒，居中），或在任意时间添加更多文字，可指定时长、字号、颜色和位置",
        ),
        (
            "add the title 'Urban Dreams'",
            "add a caption 'Day one' at 5 seconds",
            "add a second title 'Day one' from 5 to 8 seconds",
        ),
        ("加标题「城市之梦」", "在5秒处加字幕「第一天」", "再加一个标题「第一天」，从5秒到8秒"),
        _add_text,
    ),
    Phrase(
        "text_time",
        "text",
        ("when a text shows and for how long", "文字出现的时间和时长"),
        ("make the title last 5 seconds", "show the caption 'Day one' from 2 to 4 seconds"),
        ("标题显示5秒", "字幕从2秒到4秒"),
        _text_time,
    ),
    Phrase(
        "text_style",
        "text",
        (
            "text size, colour (a name or #hex) and place (top, centre, bottom)",
            "文字字号、颜色（颜色名或#十六进制）和位置（顶部、中间、底部）",
        ),
        ("make the title bigger and red", "move the title to the top", "make the caption 'Day one' #ffcc00"),
        ("标题改成红色", "标题大一点", "标题放到顶部"),
        _text_style,
    ),
    Phrase(
        "set_text",
        "text",
        ("changes what a text says", "修改文字内容"),
        ("change the title to 'Hello world'", "change 'Day one' to 'Day 1'"),
        ("标题改成「你好世界」", "把「第一天」改成「第1天」"),
        _set_text,
    ),
    Phrase(
        "music_fade",
        "audio",
        ("music fades in or out (2 s unless you say)", "背景音乐淡入或淡出（默认2秒）"),
        ("fade out the music at the end", "fade the music in over 3 seconds"),
        ("音乐淡出", "背景音乐淡入淡出"),
        _music_fade,
    ),
    Phrase(
        "duck",
        "audio",
        (
            "the music dips (to 30% unless you say) while a clip with sound plays",
            "有声音的视频片段播放时，背景音乐自动降低（默认降到30%）",
        ),
        ("lower the music when the clip plays", "duck the music under the clips"),
        ("视频片段播放时降低音乐", "音乐避让人声"),
        _duck,
    ),
    Phrase(
        "remove_music",
        "audio",
        ("removes the music", "去掉背景音乐"),
        ("remove the music", "no music"),
        ("去掉音乐", "不要背景音乐"),
        _remove_music,
    ),
    Phrase(
        "music_volume",
        "audio",
        (
            "music volume: a percentage is the amplitude (40% is −8 dB), or a step up or down",
            "背景音乐音量：百分比即振幅（40%约−8 dB），或调高/调低一档",
        ),
        ("set the music volume to 40%", "turn the music down a bit", "make the music louder"),
        ("背景音乐音量40%", "音乐小声一点", "音乐大声一点"),
        _music_volume,
    ),
    Phrase(
        "add_music",
        "audio",
        (
            "the latest uploaded song (or the one you name) under the whole video, 50% unless you say",
            "最新上传的歌曲（或指定的那首）铺满整个视频，默认音量50%",
        ),
        ("add background music", "add background music at 30%", "use song.mp3 as music"),
        ("加背景音乐", "加背景音乐30%"),
        _add_music,
    ),
    Phrase(
        "clip_volume",
        "audio",
        (
            "a clip's own sound (kept and mixed with the music unless you mute it)",
            "视频片段的原声（默认保留并与音乐混合，可静音）",
        ),
        ("mute the clip", "set the clip's volume to 50%", "keep the clip's sound"),
        ("视频片段静音", "原声音量50%", "保留原声"),
        _clip_volume,
    ),
    Phrase(
        "speed",
        "items",
        ("a clip's speed, 0.25× to 4×", "视频片段的速度，0.25倍到4倍"),
        ("speed up the clip 2x", "play the clip in slow motion", "play walk.mp4 at half speed"),
        ("视频片段2倍速", "视频片段慢动作"),
        _speed,
    ),
    Phrase(
        "trim",
        "items",
        ("which part of a clip plays", "视频片段播放原片的哪一段"),
        ("use the video clip only from 2s to 6s", "cut the first 2 seconds of the clip"),
        ("视频片段只用2秒到6秒", "视频片段剪掉前2秒"),
        _trim,
    ),
    Phrase(
        "framing",
        "framing",
        (
            "fit (uncropped, on a blurred copy or a colour) or fill (cropped), for the whole video or one item",
            "完整显示（不裁剪，背景为模糊画面或纯色）或铺满（裁剪），可针对整个视频或单个素材",
        ),
        (
            "don't crop the photos",
            "letterbox with a black background",
            "show the portrait photo uncropped",
            "fill the frame",
        ),
        ("照片不要裁剪", "完整显示，黑色背景", "铺满画面"),
        _framing,
    ),
    Phrase(
        "motion",
        "motion",
        (
            "photo motion: zoom in, zoom out, pan left, pan right or still, for every photo or one",
            "照片动效：推近、拉远、向左平移、向右平移或静止，可针对全部或单张",
        ),
        ("zoom out on the first photo", "pan left on city.png", "no zoom on the photos"),
        ("第一张照片拉远", "最后一张向右平移", "照片不要动"),
        _motion,
    ),
    Phrase(
        "crossfade",
        "transitions",
        (
            "crossfade length, or none (never more than a quarter of the shorter item)",
            "交叉淡化转场时长，或不要转场（不超过较短素材的四分之一）",
        ),
        ("make the crossfades half a second", "no transitions"),
        ("转场0.5秒", "不要转场"),
        _crossfade,
    ),
    Phrase(
        "fade_black",
        "transitions",
        (
            "the video fades in from black or out to black (1 s unless you say); "
            '"fade out at the end" fades the music too',
            "视频从黑场淡入或淡出到黑场（默认1秒）；“结尾淡出”也会让音乐淡出",
        ),
        ("fade in from black and fade out to black", "fade out at the end"),
        ("开头淡入，结尾淡出", "淡入淡出"),
        _fade_black,
    ),
    Phrase(
        "swap",
        "items",
        ("swaps two items", "交换两个素材"),
        ("swap the first and second images",),
        ("交换第一张和第二张",),
        _swap,
    ),
    Phrase(
        "reverse",
        "items",
        ("reverses the order of the items", "倒转素材顺序"),
        ("reverse the order",),
        ("倒序", "顺序反过来"),
        _reverse,
    ),
    Phrase(
        "move",
        "items",
        (
            "moves one item: to the start or end, to a place, or before or after another",
            "移动一个素材：到开头、结尾、第几个位置，或另一个素材之前/之后",
        ),
        ("move the clip to the start", "put the last photo after the clip", "move city.png to place 3"),
        ("把视频片段移到开头", "把最后一张移到视频片段后面"),
        _move,
    ),
    Phrase(
        "remove_item",
        "items",
        ("removes one item (or several)", "删除一个（或几个）素材"),
        ("remove the second image", "delete city.png", "remove the last photo"),
        ("删除第二张", "去掉最后一张照片"),
        _remove_item,
    ),
    Phrase(
        "item_length",
        "timing",
        ("how long one item shows (a clip is cut at its end)", "单个素材显示多久（视频片段从结尾剪短）"),
        ("make the second image 5 seconds", "show the gif for 4 seconds", "trim the clip to 3 seconds"),
        ("第二张图片显示5秒", "动图显示4秒"),
        _item_length,
    ),
    Phrase(
        "photo_length",
        "timing",
        ("how long every photo shows", "每张照片显示多久"),
        ("make each image 4 seconds",),
        ("每张图片4秒",),
        _photo_length,
    ),
    Phrase(
        "total_length",
        "timing",
        (
            "the video's length, by stretching or shrinking the photos (clips keep theirs)",
            "视频总长（通过拉长或缩短照片，视频片段保持原长）",
        ),
        ("make it 15 seconds long",),
        ("视频总长20秒",),
        _total_length,
    ),
    Phrase(
        "add_item",
        "items",
        ("puts one upload on the timeline (at the end unless you say)", "把一个上传的素材放到时间线上（默认放在结尾）"),
        ("add dance.gif at the start", "add city.png again"),
        ("把dance.gif加到开头",),
        _add_item,
    ),
    Phrase(
        "info",
        "help",
        ("how to upload more media", "说明如何上传素材"),
        ("how do I upload photos?",),
        ("怎么上传素材",),
        _info(_UPLOAD, "upload"),
    ),
)

_FILLER_ONLY = rx(r"^[\s\W]*(?:(?:the|a|an|and|also|too|as well|please|my|of|it|them|这|那|的|也|还有)[\s\W]*)*$")


def only_refs(c: Clause) -> bool:
    """A clause that names items and nothing else ("… and the clip"): it repeats the verb before it."""
    if not c.refs or c.pronoun:
        return False
    return bool(_FILLER_ONLY.match(c.rest))


# A verb carried over to a clause that only names items: "remove the second image and the clip".
CARRIED: Final = frozenset({"remove_item", "remove_text", "motion", "framing", "clip_volume", "speed"})

TOPICS: Final = {
    "text": rx(en(r"titles?|captions?|subtitles?|texts?|fonts?|words?|letters?|writing") + r"|标题|字幕|文字|字"),
    "audio": rx(en(r"music|songs?|sound|audio|volume|loud\w*|quiet\w*|mute|voice") + r"|音乐|声音|音量|静音|歌"),
    "items": rx(
        en(r"images?|photos?|pictures?|clips?|videos?|gifs?|slides?|order|items?") + r"|图片|照片|视频|片段|顺序|素材"
    ),
    "framing": rx(en(r"crop\w*|fit|frame|background|borders?|bars|edges?") + r"|裁剪|背景|画面|黑边"),
    "canvas": rx(
        en(r"format|size|ratio|aspect|vertical|horizontal|orientation|resolution") + r"|竖|横|方形|尺寸|比例|分辨率"
    ),
    "transitions": rx(en(r"transitions?|fades?|crossfades?|cuts?|dissolves?") + r"|转场|淡|过渡"),
    "motion": rx(en(r"zoom\w*|pan\w*|motion|movement|moving|effects?|animat\w*|ken ?burns") + r"|动效|缩放|平移|动"),
    "timing": rx(en(r"seconds?|long|longer|short|shorter|duration|length|time|minutes?") + r"|秒|时长|长|短"),
}

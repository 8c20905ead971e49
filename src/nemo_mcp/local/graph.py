"""The ffmpeg filter graph of a plan: the whole video (``build_graph``) or one frame of it (``window``).

Video, per part (every branch ends in the same size, frame rate, ``yuv420p`` and time base 1/fps):

* a picture (image or ``color`` item) is framed **once**, as a single still at the size its
  motion needs, and repeated with ``loop``; the motion is then cheap per-frame work. A zoom goes
  by levels 4 px apart (crops stay on yuv420p's chroma grid): only the first frame of each level
  is scaled and centre-cropped, ``fps`` repeats it. A pan or drift is a moving ``crop`` alone (no
  pixel is copied). The blurred letterbox of ``fit`` mode is thus computed once per picture;
* a clip is seeked on input and read only as far as its segment needs (``d × sp``), cut to its
  frames, sped with ``setpts`` (sound: ``atempo``, pitch kept), then framed per frame; its blurred
  letterbox is a box blur at an eighth of the size, scaled back up (a tenth of a full-size blur);
* an animated picture plays as a clip, looped (``-stream_loop -1``);
* parts are split into head, body and tail, and one ``concat`` lays bodies and crossfades end to
  end; a crossfade is the incoming head with an alpha ramp laid over the outgoing tail, in yuv420p
  (``xfade`` would turn the whole stream into yuv444p: three times the work).

Then texts (``drawtext``, text from a file so nothing needs escaping, font from ``local.fonts``),
the draft's fades from/to black, and the sound: clip audio and music (gain, fades, ducking under
clips with sound as a gain envelope) mixed by ``amix normalize=0`` to one stereo track.

A **window** is one frame ``f`` of the same video for ``render_frames``: only the parts showing at
``f`` get an input, each chain starts at its local frame (motion expressions are offset by it, a
clip is seeked there), a crossfade is the same filters from its frame ``f - start`` on, and the
frame gets the timeline's timestamp so that texts and fades are the very same filters with the
same ``enable`` times.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.local.fonts import DEFAULT_FONT, find_font
from nemo_mcp.local.plan import RenderPlan, TextPart, VideoPart

SAMPLE_RATE = 48000
ZOOM = 1.15  # how far a picture's motion zooms (or how much wider than the frame a pan travels)
DUCK_RAMP_S = 0.25  # how long the music takes to duck under a clip's sound, and to come back
BLUR_DIVISOR = 8  # a clip's blurred background is blurred at 1/8 of the frame size
LETTERBOX_DIM = 0.75  # the blurred background is darkened so that the picture stands out


@dataclass
class FilterGraph:
    input_args: list[str]
    graph: str
    text_files: dict[str, str]  # file name in the work dir -> its content
    input_labels: list[str]  # the plan label of each ffmpeg input, in order (for error messages)


def escape_value(value: str) -> str:
    """Escape a filter option value for the two parsing levels of a filter graph.

    ffmpeg unescapes the option list of a filter once (``\\``, ``'`` and ``:``)
    and the graph text once more (``\\``, ``'``, ``[``, ``]``, ``,``, ``;``).
    """
    level1 = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


def seconds(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in {"W", "F"}


def title_layout(text: str, width: int, height: int, size: int | None = None) -> tuple[str, int]:
    """Wrap a text to ~88% of the frame's width; without ``size``, pick one that fits in 4 lines."""
    fixed = size is not None
    size = size or max(12, round(min(width, height) * 0.09))
    floor = max(10, size // 3)
    # DejaVu Sans Bold averages about 0.68 em per character; CJK glyphs are a full em wide.
    em_per_char = 1.0 if any(_wide(ch) for ch in text) else 0.68
    while True:
        per_line = max(1, int(width * 0.88 / (size * em_per_char)))
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            if em_per_char == 1.0 and " " not in paragraph.strip():  # CJK breaks between any two glyphs
                chunks = [paragraph[i : i + per_line] for i in range(0, len(paragraph), per_line)]
            else:
                chunks = textwrap.wrap(paragraph, per_line)
            lines.extend(chunks or [""])
        fits = max(len(line) for line in lines) <= per_line and len(lines) <= 4
        if fixed or fits or size <= floor:
            return "\n".join(lines), size
        size = max(floor, int(size * 0.85))


class _Builder:
    def __init__(self, plan: RenderPlan, work_dir: Path, default_font: Path) -> None:
        self.plan = plan
        self.work_dir = work_dir
        self.default_font = default_font
        self.input_args: list[str] = []
        self.input_labels: list[str] = []
        self.chains: list[str] = []
        self.text_files: dict[str, str] = {}
        self.audio_labels: list[str] = []
        w, h, fps = plan.width, plan.height, plan.fps
        self.w, self.h, self.fps = w, h, fps
        # Every chain makes its own frames at fps (fps filters, sources at r=fps) before this.
        self.normalise = f"setsar=1,format=yuv420p,settb=1/{fps}"

    def add_input(self, label: str, *args: str) -> int:
        self.input_args.extend(args)
        self.input_labels.append(label)
        return len(self.input_labels) - 1

    # -- framing ------------------------------------------------------------------------------

    def framing(self, part: VideoPart, pw: int, ph: int, tag: str) -> str:
        """Filters that turn one picture stream into ``pw`` x ``ph`` as the part's fit asks.

        The text goes after an input label; it may hold its own labelled chains (blur).
        """
        cover = f"crop=w='min(iw,ih*{pw}/{ph})':h='min(ih,iw*{ph}/{pw})'"
        if part.fit == "fill":
            return f"{cover},scale={pw}:{ph}:out_range=tv,setsar=1,format=yuv420p"
        fitted = (
            f"scale={pw}:{ph}:force_original_aspect_ratio=decrease:force_divisible_by=2:out_range=tv,"
            "setsar=1,format=yuv420p"
        )
        if part.background != "blur":
            return f"{fitted},pad={pw}:{ph}:x='trunc((ow-iw)/4)*2':y='trunc((oh-ih)/4)*2':color={part.background}"
        # A blurred copy of the picture behind it: blurred small, scaled up (bilinear hides the blocks).
        bw, bh = max(2, pw // BLUR_DIVISOR // 2 * 2), max(2, ph // BLUR_DIVISOR // 2 * 2)
        radius = max(2, min(bw, bh) // 12)
        return (
            f"split=2[{tag}f][{tag}b];"
            f"[{tag}b]{cover},scale={bw}:{bh}:out_range=tv:flags=fast_bilinear,setsar=1,format=yuv420p,"
            f"boxblur=lr={radius}:lp=2:cr={radius // 2}:cp=2,lutyuv=y='16+(val-16)*{LETTERBOX_DIM}',"
            f"scale={pw}:{ph}:flags=fast_bilinear,setsar=1[{tag}bg];"
            # overlay takes its top picture with alpha: scaled straight into yuva420p, no second pass.
            f"[{tag}f]{fitted.replace('format=yuv420p', 'format=yuva420p')}[{tag}fg];"
            f"[{tag}bg][{tag}fg]overlay=x='trunc((W-w)/4)*2':y='trunc((H-h)/4)*2':format=yuv420"
        )

    # -- parts --------------------------------------------------------------------------------

    def part_chain(self, index: int, part: VideoPart, first: int, count: int) -> str:
        """The chain of ``count`` frames of ``part`` from its local frame ``first``; returns its label."""
        w, h, fps = self.w, self.h, self.fps
        label, tag = f"v{index}", f"p{index}"
        if part.kind == "blank":
            self.chains.append(f"color=c=black:s={w}x{h}:r={fps}:d={seconds(count / fps)},{self.normalise}[{label}]")
            return label
        if part.kind == "video":
            self.clip_chain(index, part, first, count, label, tag)
            return label
        # A still picture: framed once at the size of its motion, repeated, then moved.
        zoom_w, zoom_h = max(1, round(w * (ZOOM - 1) / 4)), max(1, round(h * (ZOOM - 1) / 4))
        pw, ph = w, h
        if part.motion in {"zoom_in", "zoom_out", "drift"}:
            pw, ph = w + 4 * zoom_w, h + 4 * zoom_h
        elif part.motion in {"pan_left", "pan_right"}:
            pw = w + 4 * zoom_w
        if part.kind == "color":
            still = self.color_still(part, pw, ph)
        else:
            assert part.path is not None
            k = self.add_input(part.label, "-i", str(part.path))
            still = f"[{k}:v]trim=end_frame=1,{self.framing(part, pw, ph, tag)}"
        last = max(part.frames - 1, 1)
        # The frame's index from its time, not from n: scale counts n from 1, crop and select from 0.
        progress = f"(round(t*{fps})+{first})/{last}"
        if part.motion in {"zoom_in", "zoom_out"}:
            motion = _zoom(part.motion, w, h, zoom_w, zoom_h, first, count, last, fps)
        else:
            motion = {
                "none": "",
                "pan_right": f"crop={w}:{h}:x='(iw-ow)*{progress}':y=0",
                "pan_left": f"crop={w}:{h}:x='(iw-ow)*(1-{progress})':y=0",
                "drift": f"crop={w}:{h}:x='(iw-ow)*{progress}':y='(ih-oh)*{progress}'",
            }[part.motion]
        self.chains.append(
            # One frame more than needed, cut after fps: fps drops a stream's last frame when nothing
            # says how long it lasts, and it sets the frame rate that concat checks.
            f"{still},loop=loop={count}:size=1,setpts=N/{fps}/TB,fps={fps},trim=end_frame={count},"
            f"{motion + ',' if motion else ''}"
            f"{self.normalise}[{label}]"
        )
        return label

    def color_still(self, part: VideoPart, pw: int, ph: int) -> str:
        fps = self.fps
        if len(part.colors) == 1:
            return f"color=c={part.colors[0]}:s={pw}x{ph}:r={fps}:d={seconds(1 / fps)},format=yuv420p"
        first, second = part.colors
        # Top left to bottom right; speed=0 keeps the gradient still (drift moves the crop instead).
        return (
            f"gradients=s={pw}x{ph}:r={fps}:d={seconds(1 / fps)}:n=2:c0={first}:c1={second}:"
            f"x0=0:y0=0:x1={pw - 1}:y1={ph - 1}:speed=0,trim=end_frame=1,"
            "scale=out_range=tv,setsar=1,format=yuv420p"
        )

    def clip_chain(self, index: int, part: VideoPart, first: int, count: int, label: str, tag: str) -> None:
        assert part.path is not None
        fps = self.fps
        sp = part.speed
        part_s = count / fps
        offset_s = first / fps * sp
        # Read two frames more than needed (decoding a 1080p clip is most of its cost): fps needs to
        # see past the last frame to emit it.
        if part.animated:
            # Looped from its first frame; the window skips to its frame after the frame-rate change.
            k = self.add_input(
                part.label, "-stream_loop", "-1", "-t", seconds((first + count) / fps * sp + 0.5), "-i", str(part.path)
            )
            skip = f"trim=start_frame={first},setpts=PTS-STARTPTS," if first else ""
        else:
            start_s = part.source_start_s + offset_s
            k = self.add_input(
                part.label, "-ss", seconds(start_s), "-t", seconds((count + 2) / fps * sp), "-i", str(part.path)
            )
            skip = ""
        speed = f"setpts=(PTS-STARTPTS)/{sp:g}" if sp != 1 else "setpts=PTS-STARTPTS"
        # Cut to the frames needed before framing them; tpad then holds the last frame of a clip that
        # is too short for its segment.
        self.chains.append(
            f"[{k}:v]{speed},fps={fps},{skip}trim=end_frame={count},{self.framing(part, self.w, self.h, tag)},"
            f"tpad=stop_mode=clone:stop_duration={seconds(part_s)},trim=end_frame={count},"
            f"setpts=PTS-STARTPTS,{self.normalise}[{label}]"
        )
        if part.plays_sound and count == part.frames:
            self.clip_audio(index, part, k)

    def clip_audio(self, index: int, part: VideoPart, k: int) -> None:
        fps = self.fps
        part_s = part.frames / fps
        # Clip sound crossfades with its neighbours as the picture does.
        fades = f",afade=t=in:d={seconds(part.overlap / fps)}" if part.overlap else ""
        video = self.plan.video
        following = video[index + 1].overlap if index + 1 < len(video) else 0
        if following:
            fades += f",afade=t=out:st={seconds(part_s - following / fps)}:d={seconds(following / fps)}"
        a_label = f"a{len(self.audio_labels)}"
        self.chains.append(
            f"[{k}:a]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},"
            f"aformat=sample_fmts=fltp:channel_layouts=stereo,{_atempo(part.speed)}"
            f"apad=whole_dur={seconds(part_s)},atrim=duration={seconds(part_s)},"
            f"volume={part.volume:.4f}{fades},"
            f"adelay={round(part.start_frame / fps * 1000)}:all=1,{self.full_length()}[{a_label}]"
        )
        self.audio_labels.append(a_label)

    def full_length(self) -> str:
        # Every audio branch is padded and cut to the whole video's length: amix inputs that end at
        # different times made ffmpeg 9's amix stop at the first one's end now and then, and an
        # unbounded apad after it then never ended.
        total_s = seconds(self.plan.duration_s)
        return f"apad=whole_dur={total_s},atrim=end={total_s}"

    # -- joining, texts, fades -----------------------------------------------------------------

    def join_all(self, labels: list[str]) -> str:
        """Join the parts into one stream: their frames in order, crossfades where the plan overlaps them.

        xfade takes no subsampled format: a yuv420p stream through it is converted to yuv444p and
        stays so, every frame, to the encoder (that was half the graph's time). So only the frames
        of each crossfade go through xfade: every part is split into its head (crossfading in),
        body and tail (crossfading out), and one concat lays bodies and crossfades end to end.
        """
        video = self.plan.video
        pieces: list[str] = []
        for index, part in enumerate(video):
            fade_in = part.overlap
            fade_out = video[index + 1].overlap if index + 1 < len(video) else 0
            label = labels[index]
            if not fade_in and not fade_out:
                pieces.append(label)
                continue
            outs = ["head"] * bool(fade_in) + ["body"] + ["tail"] * bool(fade_out)
            split = "".join(f"[{label}{out}]" for out in outs)
            cuts = [f"[{label}]split={len(outs)}{split}" if len(outs) > 1 else f"[{label}]null[{label}body]"]
            if fade_in:
                cuts.append(f"[{label}head]trim=end_frame={fade_in}[{label}h]")
            cuts.append(
                f"[{label}body]trim=start_frame={fade_in}:end_frame={part.frames - fade_out},"
                f"setpts=PTS-STARTPTS[{label}b]"
            )
            if fade_out:
                cuts.append(f"[{label}tail]trim=start_frame={part.frames - fade_out},setpts=PTS-STARTPTS[{label}t]")
            self.chains.append(";".join(cuts))
            if fade_in:
                pieces.append(self.crossfade(f"{labels[index - 1]}t", f"{label}h", fade_in, 0, f"x{index}"))
            pieces.append(f"{label}b")
        if len(pieces) == 1:
            return pieces[0]
        self.chains.append(f"{''.join(f'[{piece}]' for piece in pieces)}concat=n={len(pieces)}:v=1:a=0[joined]")
        return "joined"

    def crossfade(self, first: str, second: str, frames: int, into: int, out: str) -> str:
        """``second`` fading in over ``first`` for ``frames`` frames, from the crossfade's frame ``into`` on.

        Both inputs start at the crossfade's frame ``into`` (0 but for a window inside it). The
        second picture gets an alpha ramp and is laid over the first: A*(1-k/D) + B*k/D at frame k,
        xfade's fade, all in yuv420p (xfade itself converts to yuv444p and back: ~3x the work).
        """
        fps = self.fps
        stamp = f"setpts={into}+N" if into else "setpts=N"
        self.chains.append(
            f"[{first}]{stamp}[{out}a];"
            f"[{second}]{stamp},format=yuva420p,fade=t=in:st=0:d={seconds(frames / fps)}:alpha=1[{out}b];"
            f"[{out}a][{out}b]overlay=format=yuv420:eof_action=pass,{self.normalise}[{out}]"
        )
        return out

    def texts_and_fades(self, current: str, frame: int | None) -> str:
        plan = self.plan
        for index, text in enumerate(plan.texts):
            if frame is not None and not text.start_s <= frame / plan.fps <= _last_moment(text, plan.fps):
                continue  # the window draws only the texts its frame shows, by drawtext's own rule
            out = f"t{index}"
            self.chains.append(f"[{current}]{self.drawtext(index, text)}[{out}]")
            current = out
        fades: list[str] = []
        if plan.fade_in_s > 0:
            fades.append(f"fade=t=in:st=0:d={seconds(plan.fade_in_s)}")
        if plan.fade_out_s > 0:
            fades.append(f"fade=t=out:st={seconds(plan.duration_s - plan.fade_out_s)}:d={seconds(plan.fade_out_s)}")
        if fades:
            self.chains.append(f"[{current}]{','.join(fades)}[faded]")
            current = "faded"
        return current

    def drawtext(self, index: int, text: TextPart) -> str:
        w, h, fps = self.w, self.h, self.fps
        wrapped, size = title_layout(text.text, w, h, text.size)
        name = f"text{index}.txt"
        self.text_files[name] = wrapped
        font = find_font(text.text) or self.default_font
        if font == DEFAULT_FONT:
            font = self.default_font
        margin = round(h * 0.08)
        y = {"top": f"{margin}", "center": "(h-text_h)/2", "bottom": f"h-text_h-{round(h * 0.1)}"}[text.position]
        enable = f"between(t,{seconds(text.start_s)},{seconds(_last_moment(text, fps))})"
        return (
            f"drawtext=fontfile={escape_value(str(font))}:"
            f"textfile={escape_value(str(self.work_dir / name))}:expansion=none:text_align=C:"
            f"fontsize={size}:fontcolor={text.color or 'white'}:borderw={max(2, size // 16)}:bordercolor=black@0.85:"
            f"box=1:boxcolor=black@0.4:boxborderw={max(8, size // 3)}:line_spacing={size // 5}:"
            f"x=(w-text_w)/2:y={y}:enable={escape_value(enable)}"
        )

    # -- sound --------------------------------------------------------------------------------

    def music(self) -> None:
        sounding = [
            (part.start_frame / self.fps, part.end_frame / self.fps) for part in self.plan.video if part.plays_sound
        ]
        for music in self.plan.music:
            # Loop the file so short music still fills its segment; -t bounds what is read.
            k = self.add_input(
                music.label,
                "-stream_loop",
                "-1",
                "-t",
                seconds(music.source_start_s + music.duration_s + 1),
                "-i",
                str(music.path),
            )
            filters = [
                f"atrim=start={seconds(music.source_start_s)}",
                "asetpts=PTS-STARTPTS",
                f"aresample={SAMPLE_RATE}",
                "aformat=sample_fmts=fltp:channel_layouts=stereo",
                f"atrim=duration={seconds(music.duration_s)}",
                f"volume={music.volume:.4f}",
            ]
            if music.fade_in_s > 0:
                filters.append(f"afade=t=in:st=0:d={seconds(music.fade_in_s)}")
            if music.fade_out_s > 0:
                filters.append(
                    f"afade=t=out:st={seconds(music.duration_s - music.fade_out_s)}:d={seconds(music.fade_out_s)}"
                )
            filters.append(f"adelay={round(music.start_s * 1000)}:all=1")
            if music.duck is not None and music.duck < 1 and sounding:
                filters.append(_ducking(music.duck, sounding))
            a_label = f"a{len(self.audio_labels)}"
            self.chains.append(f"[{k}:a]{','.join(filters)},{self.full_length()}[{a_label}]")
            self.audio_labels.append(a_label)

    def mix(self) -> None:
        plan = self.plan
        tail = self.full_length()
        if plan.fade_in_s > 0:
            tail += f",afade=t=in:st=0:d={seconds(plan.fade_in_s)}"
        if plan.fade_out_s > 0:
            tail += f",afade=t=out:st={seconds(plan.duration_s - plan.fade_out_s)}:d={seconds(plan.fade_out_s)}"
        tail += ",aformat=sample_fmts=fltp:channel_layouts=stereo[aout]"
        labels = self.audio_labels
        if not labels:
            self.chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,{tail}")
        elif len(labels) == 1:
            self.chains.append(f"[{labels[0]}]{tail}")
        else:
            joined = "".join(f"[{label}]" for label in labels)
            self.chains.append(
                f"{joined}amix=inputs={len(labels)}:normalize=0:duration=longest:dropout_transition=0,{tail}"
            )

    def result(self) -> FilterGraph:
        return FilterGraph(self.input_args, ";\n".join(self.chains) + "\n", self.text_files, self.input_labels)


def _last_moment(text: TextPart, fps: int) -> float:
    """Until when a text shows: half a frame before its end, so that the frame at its end has none."""
    return max(text.start_s, text.end_s - 0.5 / fps)


def _zoom(motion: str, w: int, h: int, steps_w: int, steps_h: int, first: int, count: int, last: int, fps: int) -> str:
    """A zoom over the still (w + 4*steps_w by h + 4*steps_h) prepared for it, as filters.

    The zoom goes by levels: at level k the still is scaled to (w + 4k) x (h + 4 round(k*steps_h/steps_w))
    and its centre w x h cropped (4 px steps keep the crop on yuv420p's chroma grid; the crop's offset
    is computed: crop's default centre reads the link's size, the first frame's). A level lasts a
    few frames, so only the first frame of each is scaled (select) and fps repeats it until the next:
    a third of the scaling, and repeated frames cost x264 next to nothing.
    """

    def level(index: str) -> str:
        p = f"({index}+{first})/{last}"
        return f"trunc({steps_w}*{p if motion == 'zoom_in' else f'(1-{p})'})"

    k = level(f"round(t*{fps})")
    dy = f"round({k}*{steps_h}/{steps_w})"
    zoom = f"scale=w='{w}+4*{k}':h='{h}+4*{dy}':eval=frame:flags=fast_bilinear,crop={w}:{h}:x='2*{k}':y='2*{dy}'"
    if count == 1:
        return zoom
    changes = f"eq(n\\,0)+eq(n\\,{count - 1})+not(eq({level('n')}\\,{level('n-1')}))"
    return f"select='{changes}',{zoom},fps={fps},trim=end_frame={count}"


def _atempo(speed: float) -> str:
    """atempo filters for ``speed`` (one filter takes 0.5..100; 0.25 is two of 0.5), with a comma after."""
    if speed == 1:
        return ""
    stages = []
    while speed < 0.5:
        stages.append(0.5)
        speed /= 0.5
    stages.append(speed)
    return "".join(f"atempo={stage:.6g}," for stage in stages)


def _ducking(duck: float, sounding: list[tuple[float, float]]) -> str:
    """A gain envelope: 1, ramping down to ``duck`` over DUCK_RAMP_S around each clip with sound."""
    r = DUCK_RAMP_S
    # clip(min(rise, fall), 0, 1) is 1 inside [start, end] and ramps to 0 over r on either side.
    inside = [f"clip(min((t-{seconds(a - r)})/{r}\\,({seconds(b + r)}-t)/{r})\\,0\\,1)" for a, b in sounding]
    level = inside[0]
    for term in inside[1:]:
        level = f"max({level}\\,{term})"
    return f"volume=volume='1-{1 - duck:.4f}*{level}':eval=frame"


def build_graph(
    plan: RenderPlan,
    *,
    work_dir: Path,
    default_font: Path = DEFAULT_FONT,
    window: int | None = None,
    window_size: tuple[int, int] | None = None,
) -> FilterGraph:
    """The ffmpeg input arguments and filter graph text for a plan (after ``attach_media``).

    ``window``: only that frame of the video (labelled ``vout``, no sound), for ``render_frames``,
    scaled to ``window_size`` (full range, for JPEG) when given.
    ``work_dir`` is where the caller writes ``text_files`` before running ffmpeg.
    """
    b = _Builder(plan, work_dir, default_font)
    if window is None:
        labels = [b.part_chain(index, part, 0, part.frames) for index, part in enumerate(plan.video)]
        current = b.join_all(labels)
        current = b.texts_and_fades(current, None)
        b.chains.append(f"[{current}]trim=end_frame={plan.total_frames},setpts=PTS-STARTPTS[vout]")
        b.music()
        b.mix()
        return b.result()

    frame = max(0, min(window, plan.total_frames - 1))
    showing = [(index, part) for index, part in enumerate(plan.video) if part.start_frame <= frame < part.end_frame]
    labels = [b.part_chain(index, part, frame - part.start_frame, 1) for index, part in showing]
    # The frame carries its timeline time, so texts and fades are the full render's filters.
    stamp = f"setpts={frame}"
    current = f"w{len(labels)}"
    if len(labels) == 1:
        b.chains.append(f"[{labels[0]}]{stamp}[{current}]")
    else:
        later = showing[-1][1]
        into = frame - later.start_frame  # frames into the crossfade
        b.crossfade(labels[-2], labels[-1], later.overlap, into, "wx")
        b.chains.append(f"[wx]{stamp}[{current}]")
    current = b.texts_and_fades(current, frame)
    if window_size is None:
        b.chains.append(f"[{current}]null[vout]")
    else:
        tw, th = window_size
        b.chains.append(f"[{current}]scale={tw}:{th}:flags=bicubic:out_range=pc,format=yuvj420p[vout]")
    return b.result()

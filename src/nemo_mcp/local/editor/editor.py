"""``LocalEditor``: one instruction in, the new draft and an honest reply out.

The invariant: a reply claims a change ("Done: …") only when the draft it returns differs from
the one it was given, and each sentence under "Done" belongs to an operation whose own step
changed the draft. An operation that changed nothing says what it checked instead; one that
cannot apply says why; words nobody understood are named, with phrasings that work. When nothing
changed, the original draft comes back untouched with no tool name and no arguments.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from nemo_mcp.apiserver.editor import EditRequest, EditResult
from nemo_mcp.draft import keys, parse_draft, summarize
from nemo_mcp.local import fonts
from nemo_mcp.local.editor.media import Media, ProbeCache, Resolver, upload_name
from nemo_mcp.local.editor.ops import OPERATIONS, Env, Outcome
from nemo_mcp.local.editor.parse import parse_instruction
from nemo_mcp.local.editor.phrases import TOPICS, Command
from nemo_mcp.local.editor.reference import help_text, suggestions, unsupported_suggestions
from nemo_mcp.local.editor.replies import Lang, Msg, Options, Refusal, Said, Seconds, Suffix, language
from nemo_mcp.local.editor.timeline import TEXT, Project
from nemo_mcp.local.editor.words import fold
from nemo_mcp.local.probe import MediaInfo, probe

log = logging.getLogger(__name__)

FontFinder = Callable[[str], Path | None]

# Operations whose effect is the whole timeline's shape, reported as the cloud's multitrack edit.
_MULTITRACK: Final = frozenset({"build", "photo_length", "total_length"})
_TEXT_REMOVERS: Final = frozenset({"remove_text", "clear"})


@dataclass
class _Reply:
    """The sentences of one reply, by kind, in the order they are said."""

    lang: Lang
    done: list[Msg] = field(default_factory=list)
    notes: list[Msg] = field(default_factory=list)
    same: list[Msg] = field(default_factory=list)
    refused: list[Msg] = field(default_factory=list)
    hints: list[Msg] = field(default_factory=list)  # what to say instead of what was refused
    questions: list[str] = field(default_factory=list)  # topics asked about, answered at the end
    answers: list[Msg] = field(default_factory=list)
    unknown: list[Msg] = field(default_factory=list)
    warnings: list[Msg] = field(default_factory=list)

    def text(self, changed: bool, closing: list[Msg]) -> str:
        said: list[Msg | _Capital] = []
        if changed:
            said.append(Msg.of("done", what=_Capital(self.done[0])))
            said += self.done[1:] + self.notes + self.same
            said += [Msg.of("not_done", what=m) for m in self.refused]
        else:
            said += self.same + self.refused
        said += self.hints + self.unknown + self.warnings + self.answers + closing
        gap = "" if self.lang == "zh" else " "
        return gap.join(_Capital(m).words(self.lang) for m in said).replace("\n ", "\n")


@dataclass(frozen=True)
class _Capital:
    """A sentence that starts with a capital letter, even when it starts with an item ("the clip …")."""

    msg: Msg | _Capital

    def words(self, lang: Lang) -> str:
        text = self.msg.words(lang)
        return text[:1].upper() + text[1:]


class LocalEditor:
    """The rule-based editor behind the local backend's ``/run_sse``."""

    def __init__(
        self,
        resolve: Resolver,
        *,
        probe_media: Callable[[Path], MediaInfo] = probe,
        find_font: FontFinder | None = None,
    ) -> None:
        self._resolve = resolve
        self._probes = ProbeCache(probe_media)
        self._find_font = find_font or fonts.find_font

    def edit(self, request: EditRequest) -> EditResult:
        """Apply the instruction to a copy of the draft. Blocks (it may probe media): run it in a thread."""
        lang, not_in_its_language = language(request.language)
        original = request.draft if isinstance(request.draft, dict) else {}
        media = Media(request.uploads, self._resolve, self._probes)
        names = [upload_name(u) for u in media.uploads]
        parsed = parse_instruction(request.instruction, names)
        log.debug("session %s: %r -> %s", request.session_id, request.instruction, parsed)
        if any(c.op == "undo" for c in parsed.commands):
            return self._undo(request, original, lang, len(parsed.commands) > 1 or bool(parsed.unknown))

        baseline = Project(copy.deepcopy(original), media)
        baseline.relayout()  # the draft as this editor lays it out: filling in keys is no change
        work = Project(copy.deepcopy(baseline.draft), media)
        reply = _Reply(lang)
        changed_by: list[Command] = []
        env = Env(explicit_canvas=any(c.op == "canvas" for c in parsed.commands))
        # The video is built first, so "add music and make a slideshow" spans the whole video.
        ordered = sorted(parsed.commands, key=lambda c: c.op != "build")
        for command in ordered:
            if command.op in {"info", "refuse"}:
                self._answer(command, reply, lang)
                continue
            if self._apply(work, command, env, reply):
                changed_by.append(command)

        for clause in parsed.unknown:
            folded = fold(clause)
            topics = [t for t, pattern in TOPICS.items() if pattern.search(folded)]
            reply.unknown.append(Msg.of("not_understood", said=Said(clause)))
            reply.unknown.append(Msg.of("try", options=Options(suggestions(topics, lang))))
        if parsed.unknown and not parsed.commands:
            reply.unknown.append(Msg.of("help_hint"))

        changed = work.draft != baseline.draft
        # Another language gets English (Traditional Chinese, Simplified), and a note saying so
        # until a change records the project's language.
        if not_in_its_language and keys.read_text(original.get("m") or {}, keys.LANGUAGE) != request.language:
            reply.warnings.append(Msg.of(not_in_its_language, code=request.language))
        if not changed:
            if changed_by:
                reply.same.insert(0, Msg.of("cancelled_out"))
            if not (reply.same or reply.refused or reply.questions or reply.answers or reply.unknown):
                reply.same += [Msg.of("unchanged"), Msg.of("help_hint")]
            self._finish_answers(reply, original, media, lang)
            return EditResult(copy.deepcopy(original), reply.text(False, []), "", {})

        if request.language:
            work.meta["lang"] = request.language
        reply.warnings += self._font_warnings(baseline, work)
        self._finish_answers(reply, work.draft, media, lang)
        closing = [Msg.of("length", length=Seconds(int(work.draft.get("d") or 0)))]
        if not reply.questions:
            closing.append(Msg.of("next"))
        if len(changed_by) == 1:
            only = changed_by[0]
            tool_name, tool_args = ("edit_multitrack" if only.op in _MULTITRACK else only.op), only.as_dict()
        else:
            tool_name, tool_args = "edit_multitrack", {"commands": [c.as_dict() for c in changed_by]}
        return EditResult(work.draft, reply.text(True, closing), tool_name, tool_args)

    # -- one operation -------------------------------------------------------------------------

    @staticmethod
    def _apply(work: Project, command: Command, env: Env, reply: _Reply) -> bool:
        """Run one operation; True when it changed the draft. A refusal leaves the draft as it was."""
        before = copy.deepcopy(work.draft)
        texts_before = {str(s.get("id")): s.get("tx") for s in work.edit.segments(TEXT)}
        try:
            outcome: Outcome = OPERATIONS[command.op](work, command, env)
            work.relayout()
        except Refusal as refusal:
            work.draft.clear()
            work.draft.update(before)
            reply.refused.append(refusal.msg)
            return False
        if work.draft == before:
            reply.same.append(outcome.same or Msg.of("unchanged"))
            return False
        reply.done.append(outcome.done)
        reply.notes += outcome.notes
        if command.op not in _TEXT_REMOVERS:
            left = {str(s.get("id")) for s in work.edit.segments(TEXT)}
            for ident, text in texts_before.items():
                if ident not in left:
                    reply.notes.append(Msg.of("dropped_text", item=Said(str(text))))
        return True

    # -- answers that change nothing -----------------------------------------------------------

    @staticmethod
    def _answer(command: Command, reply: _Reply, lang: Lang) -> None:
        if command.op == "refuse":
            why = str(command.args["why"])
            if why == "redo":
                reply.refused.append(Msg.of("redo"))
                return
            reply.refused.append(Msg.of("unsupported", reason=Msg.of(why)))
            reply.hints.append(Msg.of("try", options=Options(unsupported_suggestions(why, lang))))
            return
        if command.args["topic"] == "question":  # advice asked for: say how to ask for it instead
            reply.answers.append(Msg.of("question", said=Said(str(command.args["said"]))))
        else:
            reply.questions.append(str(command.args["topic"]))

    @staticmethod
    def _finish_answers(reply: _Reply, draft: dict[str, Any], media: Media, lang: Lang) -> None:
        """Questions are answered about the timeline as it ends up."""
        for topic in dict.fromkeys(reply.questions):
            if topic == "help":
                reply.answers.append(Msg.of("help", lines=help_text(lang)))
            elif topic == "export":
                timeline = parse_draft(draft)
                reply.answers.append(Msg.of("export", size=f"{timeline.width or 1080}x{timeline.height or 1920}"))
            elif topic == "leave":
                reply.answers.append(Msg.of("leave"))
            elif topic == "credits":
                reply.answers.append(Msg.of("credits"))
            elif topic == "status":
                reply.answers.append(Msg.of("status", summary=summarize(parse_draft(draft))))
            elif topic == "upload":
                names = tuple(upload_name(u) for u in media.uploads)
                reply.answers.append(Msg.of("upload", count=len(names), names=Suffix(names, (": ", "："))))

    def _font_warnings(self, baseline: Project, work: Project) -> list[Msg]:
        """Texts written by this edit in a script no available font covers: they will not show."""
        known = {(str(s.get("id")), s.get("tx")) for s in baseline.edit.segments(TEXT)}
        warnings: list[Msg] = []
        for seg in work.edit.segments(TEXT):
            text = keys.read_text(seg, keys.TEXT)
            if text and (str(seg.get("id")), seg.get("tx")) not in known and self._find_font(text) is None:
                warnings.append(Msg.of("font_missing", text=Said(text)))
        return warnings

    # -- undo ----------------------------------------------------------------------------------

    @staticmethod
    def _undo(request: EditRequest, original: dict[str, Any], lang: Lang, more: bool) -> EditResult:
        # The server keeps the history (every changed draft); undo hands back the latest one.
        if not request.history:
            return EditResult(copy.deepcopy(original), Msg.of("nothing_to_undo").words(lang), "", {})
        previous = request.history[-1]
        said = [Msg.of("undone", length=Seconds(int(keys.read_ms(previous, keys.DURATION) or 0)))]
        if more:
            said.append(Msg.of("only_undo"))
        text = ("" if lang == "zh" else " ").join(m.words(lang) for m in said)
        return EditResult(copy.deepcopy(previous), text, "undo", {"action": "undo"}, reverted=True)

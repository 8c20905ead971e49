"""An instruction read into commands: each clause through the phrase table, with "it" carried along.

What no row of the table builds is kept as written, so the reply can say which part was not
understood instead of pretending the whole instruction was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from nemo_mcp.local.editor.clause import Clause, split
from nemo_mcp.local.editor.phrases import CARRIED, TABLE, Command, Context, only_refs
from nemo_mcp.local.editor.refs import Ref


@dataclass(frozen=True)
class Parsed:
    commands: list[Command]
    unknown: list[str]  # clauses nothing understood, as the user wrote them


def _stems(names: Iterable[str]) -> list[str]:
    """File names without their extensions, as people may call the media ("the city photo")."""
    found: set[str] = set()
    for name in names:
        stem = name.rsplit(".", 1)[0]
        if len(stem) >= 3 and stem.replace("-", "").replace("_", "").replace(" ", "").isalnum():
            found.add(stem)
    return sorted(found)


def _read(clause: Clause, ctx: Context, previous: Command | None) -> list[Command]:
    found: list[Command] = []
    for phrase in TABLE:
        built = phrase.build(clause, ctx)
        if built:
            found += built
            if not phrase.also:
                break
    if not found and previous is not None and previous.op in CARRIED and only_refs(clause):
        # "remove the second image and the clip": the clip is removed too.
        found = [replace(previous, refs=tuple(clause.refs))]
    return found


def _subject(command: Command, before: Ref | None) -> Ref | None:
    """What "it" means after this command."""
    pointed = [r for r in command.refs if r.kind != "pronoun"]
    if pointed:
        return pointed[0]
    args = command.args
    if command.op == "add_text" and args.get("text"):
        return Ref("text", text=str(args["text"]))
    if command.op == "card":
        return Ref("color", index=-1 if args.get("where") == "end" else 1)
    if command.op in {"add_music", "music_volume", "music_fade", "duck", "remove_music"}:
        return Ref("music")
    return before


def _joined(command: Command, earlier: Command, subject: Ref | None) -> Command | None:
    """The command before, completed by this one, when this clause only adds to it; else None."""
    # "a text-only intro …, blue background": the colour belongs to the card just asked for.
    if command.op == "recolour_card" and earlier.op == "card":
        return replace(earlier, args={**earlier.args, "colours": command.args["colours"]})
    new = {k: v for k, v in command.args.items() if v is not None}
    # "add the title 'X' and make it last 4 seconds": one text, added with its times.
    if command.op == "text_time" and earlier.op == "add_text" and command.refs == (subject,):
        role = "text" if "start" in new else earlier.args["role"]
        return replace(earlier, args={**earlier.args, **new, "role": role})
    # "don't crop the photos, black background": the background of that framing.
    if (
        command.op == "framing" == earlier.op
        and not command.refs
        and new.get("bg")
        and new["mode"] == earlier.args["mode"]
    ):
        return replace(earlier, args={**earlier.args, "bg": new["bg"]})
    # "make the title bigger and red": one restyle of the title.
    if command.op == "text_style" == earlier.op and command.refs in (earlier.refs, (subject,)):
        return replace(earlier, args={**earlier.args, **new})
    return None


def parse_instruction(text: str, names: Iterable[str] = ()) -> Parsed:
    """The commands an instruction asks for, in the order it asks, and what was not understood."""
    pieces, quotes = split(text or "")
    files = sorted({n.strip().lower() for n in names if "." in n})
    stems = _stems(files)
    ctx = Context()
    commands: list[Command] = []
    unknown: list[str] = []
    for piece in pieces:
        clause = Clause(piece, quotes, stems, files)
        got = _read(clause, ctx, commands[-1] if commands else None)
        if not got:
            unknown.append(clause.shown())
            continue
        for command in got:
            joined = _joined(command, commands[-1], ctx.subject) if commands else None
            if joined is not None:
                commands.pop()
                command = joined
            commands.append(command)
            ctx.subject = _subject(command, ctx.subject)
    return Parsed(commands, unknown)

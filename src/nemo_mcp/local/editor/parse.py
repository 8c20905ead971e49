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
            found += [replace(c, said=clause.shown()) for c in built]
            if not phrase.also:
                break
    if not found and previous is not None and previous.op in CARRIED and only_refs(clause):
        # "remove the second image and the clip": the clip is removed too.
        found = [replace(previous, refs=tuple(clause.refs), said=clause.shown())]
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


def _adds_background(command: Command, commands: list[Command]) -> bool:
    """A framing clause that only names a background, right after another framing clause."""
    if command.op != "framing" or command.refs or not command.args.get("bg") or not commands:
        return False
    earlier = commands[-1]
    return earlier.op == "framing" and earlier.args["mode"] == command.args["mode"]


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
            # "a text-only intro …, blue background": the colour belongs to the card just asked for.
            if command.op == "recolour_card" and commands and commands[-1].op == "card":
                card = commands.pop()
                command = replace(card, args={**card.args, "colours": command.args["colours"]})
            # "add the title 'X' and make it last 4 seconds": one text, added with its times.
            elif (
                command.op == "text_time"
                and commands
                and commands[-1].op == "add_text"
                and command.refs == (ctx.subject,)
            ):
                added = commands.pop()
                timing = {k: v for k, v in command.args.items() if v is not None}
                command = replace(
                    added,
                    args={**added.args, **timing, "role": "text" if "start" in timing else added.args["role"]},
                    said=f"{added.said}, {command.said}",
                )
            # "don't crop the photos, black background": the background of that framing.
            elif _adds_background(command, commands):
                earlier = commands.pop()
                command = replace(
                    earlier, args={**earlier.args, "bg": command.args["bg"]}, said=f"{earlier.said}, {command.said}"
                )
            # "make the title bigger and red": one restyle of the title.
            elif (
                command.op == "text_style"
                and commands
                and commands[-1].op == "text_style"
                and (commands[-1].refs == command.refs or command.refs == (ctx.subject,))
            ):
                earlier = commands.pop()
                merged = {k: v for k, v in command.args.items() if v is not None}
                command = replace(earlier, args={**earlier.args, **merged}, said=f"{earlier.said}, {command.said}")
            commands.append(command)
            ctx.subject = _subject(command, ctx.subject)
    return Parsed(commands, unknown)

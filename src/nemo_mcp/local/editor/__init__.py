"""The offline editor: plain instructions (English or Chinese) to timeline edits, with honest replies.

One idea per module, in the order an instruction meets them:

* ``words`` — quotes, numbers, times, levels, speeds, colours and places, in both languages;
* ``clause`` — the instruction cut into clauses, and what each one names;
* ``refs`` — "the second image", "the clip", "city.png", "字幕「第一天」": finding what they mean;
* ``phrases`` — the table of every request understood (and of those impossible offline);
* ``parse`` — clauses through the table, with "it" carried from one to the next;
* ``media`` — what each upload is (probed once), ``timeline`` — the draft and its layout rules;
* ``ops`` — what each request does to the draft; ``replies`` — every sentence in English and Chinese;
* ``reference`` — the help reply and the README's table, from the phrase table;
* ``editor`` — ``LocalEditor``, which ties them together and keeps the reply honest.
"""

from nemo_mcp.apiserver.editor import EditRequest, EditResult
from nemo_mcp.local.editor.editor import LocalEditor
from nemo_mcp.local.editor.parse import Parsed, parse_instruction

__all__ = ["EditRequest", "EditResult", "LocalEditor", "Parsed", "parse_instruction"]

"""Where a turn's framework time goes: `python -m bench.profile` (or `make profile`).

yappi sees every thread, which matters: LangGraph runs parallel nodes in a thread pool.
"""

from __future__ import annotations

import yappi

from bench.dialogues import dialogue
from emostage import EmoStage
from emostage.testing import ScriptedChatModel

TURNS = 100


def main() -> None:
    """Profile scripted turns and print the 30 most expensive functions (own CPU time)."""
    stage = EmoStage(ScriptedChatModel())
    history = dialogue(30)
    for _ in range(20):
        stage.respond(history)
    yappi.set_clock_type("cpu")
    yappi.start()
    for _ in range(TURNS):
        stage.respond(history)
    yappi.stop()
    stats = yappi.get_func_stats()
    stats.sort("tsub")
    print("own ms/turn  total ms/turn  calls/turn  function (yappi's own overhead inflates all)")
    for entry in list(stats)[:30]:
        where = entry.module.rsplit("site-packages/", 1)[-1]
        print(
            f"{entry.tsub / TURNS * 1000:10.3f} {entry.ttot / TURNS * 1000:13.3f} "
            f"{entry.ncall / TURNS:11.1f}  {where}:{entry.name}"
        )


if __name__ == "__main__":
    main()

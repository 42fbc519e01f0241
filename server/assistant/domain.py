"""The assistant domain: a person says what they want (`assistant:ask`, `/ask` in chat), in any
world language; it becomes the client's own actions, confirmed first when money or another
person is involved; `assistant eval`."""

from server.assistant import commands, handlers, models
from server.domain import Command, Domain

DOMAIN = Domain(
    name="assistant", models=models,
    setup=handlers.setup,
    commands=(Command("assistant eval", commands.assistant_eval, commands.eval_args,
                      group_help="the world assistant: eval"),),
)

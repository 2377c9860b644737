# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every planned task has in common (plain Python, no Ansible).

A plan is computed once from the wanted state, the persisted records and the host; check mode
returns it, the real run applies exactly its steps. So the two can never disagree."""


class Plan:
    def __init__(self, name):
        self.name = name
        self.actions = []     # what a user reads: "create", "recreate: image changed", ...
        self.steps = []       # what apply() executes, in order
        self.before = {}      # the diff views
        self.after = {}

    @property
    def changed(self):
        return bool(self.steps)

# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mydocker_image_info on the local connection: the task runs in Ansible's worker process
(plugins/plugin_utils/in_process.py); elsewhere the module runs as usual."""

from ansible_collections.mydocker.runtime.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    pass

# A stdout callback for the differential tests: ansible-core 2.17 ships no `json` callback (that
# one lives in the ansible.posix collection), so this writes the same document shape that
# `provision run --output json` writes: plays -> tasks -> hosts, and `stats` per host.
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
    name: differential_json
    type: stdout
    short_description: plays, tasks and stats as one JSON document
    description: the shape of ansible.posix.json, reduced to what the differential tests compare
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'differential_json'

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def _start(self, task, handler=False):
        self.plays[-1]['tasks'].append(
            {'task': {'name': task.get_name(), 'handler': handler}, 'hosts': {}})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, handler=True)

    def _record(self, result, **status):
        r = result._result
        entry = {
            'action': result._task.action,
            'changed': bool(r.get('changed', False)),
        }
        for key in ('failed', 'skipped', 'unreachable'):
            if status.get(key) or r.get(key):
                entry[key] = True
        if status.get('ignored'):
            entry['ignore_errors'] = True
        if 'results' in r:
            entry['results'] = [
                {'changed': bool(i.get('changed', False)), 'failed': bool(i.get('failed', False)),
                 'skipped': bool(i.get('skipped', False))}
                for i in r['results'] if isinstance(i, dict)]
        if 'msg' in r and (status.get('failed') or r.get('failed')):
            entry['msg'] = str(r['msg'])
        self.plays[-1]['tasks'][-1]['hosts'][result._host.get_name()] = entry

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, failed=True, ignored=ignore_errors)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        summary = {}
        for h in hosts:
            s = stats.summarize(h)
            summary[h] = {k: s[k] for k in
                          ('ok', 'changed', 'failures', 'skipped', 'unreachable', 'rescued', 'ignored')}
        self._display.display(json.dumps(
            {'plays': self.plays, 'stats': summary}, indent=4, sort_keys=True, ensure_ascii=False))

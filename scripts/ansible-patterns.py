"""Prints, as JSON, the hosts ansible-core selects for each host pattern.

Usage: python ansible-patterns.py SOURCE... -- PATTERN...
One Python process answers every pattern, which keeps the differential tests fast.
A pattern Ansible refuses maps to null.
"""
import json
import sys

from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

split = sys.argv.index("--")
sources, patterns = sys.argv[1:split], sys.argv[split + 1:]
inventory = InventoryManager(loader=DataLoader(), sources=sources)
result = {}
for pattern in patterns:
    inventory.clear_pattern_cache()
    try:
        result[pattern] = [h.name for h in inventory.get_hosts(pattern)]
    except AnsibleError:
        result[pattern] = None
print(json.dumps(result))

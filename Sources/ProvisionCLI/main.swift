import ArgumentParser
import Inventory
import Provision

print("provision")

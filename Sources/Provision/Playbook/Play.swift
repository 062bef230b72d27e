import Foundation
import Inventory

/// One play: which hosts, with which variables, run which tasks.
public struct Play: Sendable {
  public var name = ""
  /// The host pattern, list entries joined with commas.
  public var hosts = ""
  public var location: SourceLocation
  /// The directory of the playbook file the play is in (`playbook_dir`).
  public var directory: String
  public var keywords = TaskKeywords()
  public var varsFiles: [Value] = []
  public var varsPrompt: [OrderedDict] = []
  public var gatherFacts: Value?
  public var serial: Value?
  public var maxFailPercentage: Value?
  public var ignoreUnreachable: Value?
  public var strategy = "linear"
  public var order = "inventory"
  public var forceHandlers: Value?
  public var preTasks: [TaskNode] = []
  public var roles: [Role] = []
  public var tasks: [TaskNode] = []
  public var postTasks: [TaskNode] = []
  public var handlers: [TaskNode] = []

  init(location: SourceLocation, directory: String) {
    self.location = location
    self.directory = directory
  }

  /// Every handler of the play, its roles' first.
  public var allHandlers: [TaskNode] { roles.flatMap(\.handlers) + handlers }
}

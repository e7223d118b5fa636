// The handles C holds (dde_task *, dde_policy *, dde_store *, dde_client *): numbers in the
// table of live handles (Sources/CDDE/cdde_handles.c), never addresses. Every entry point turns
// a handle into its object here, so NULL, a pointer that is no handle of the expected type, and
// a handle already freed or closed each give their status code instead of a read of freed memory.
import CDDE

/// One kind per handle type of include/dde.h; the object behind each kind is always the same
/// class (see `handle(_:_:as:)`).
enum HandleKind: Int32 {
    case task = 1
    case policy = 2
    case store = 3
    case client = 4

    var name: String {
        switch self {
        case .task: return "task"
        case .policy: return "policy"
        case .store: return "store"
        case .client: return "client"
        }
    }
}

/// Registers `object` (the table keeps one reference until `takeHandle`) and returns its handle.
func newHandle<T: AnyObject>(_ object: T, _ kind: HandleKind) throws(DDEError) -> OpaquePointer {
    let raw = Unmanaged.passRetained(object).toOpaque()
    let number = cdde_handle_add(raw, kind.rawValue)
    guard number != 0, let handle = OpaquePointer(bitPattern: number) else {
        Unmanaged<T>.fromOpaque(raw).release()
        throw DDEError(.noMemory, "no room for another \(kind.name) handle")
    }
    return handle
}

private func handleError(_ status: Int32, _ kind: HandleKind) -> DDEError {
    status == 1
        ? DDEError(.closed, "the \(kind.name) was already freed or closed")
        : DDEError(.argument, "not a dde_\(kind.name) handle (a pointer the library did not return as one)")
}

/// The object of a live handle, with a reference of its own: a call in flight keeps the object
/// alive when another thread frees the handle meanwhile.
func handle<T: AnyObject>(_ pointer: OpaquePointer?, _ kind: HandleKind, as type: T.Type) throws(DDEError) -> T {
    guard let pointer else { throw DDEError(.argument, "\(kind.name) is NULL") }
    var status: Int32 = 0
    cdde_handles_lock()
    // The retain happens under the table's lock, so no takeHandle can release the object first.
    let raw = cdde_handle_find_locked(UInt(bitPattern: pointer), kind.rawValue, &status)
    let retained = raw.map { Unmanaged<T>.fromOpaque($0).retain() }
    cdde_handles_unlock()
    guard let retained else { throw handleError(status, kind) }
    return retained.takeRetainedValue()
}

/// Takes a live handle out of the table (it is never valid again) and returns its object, whose
/// table reference the caller now holds.
func takeHandle<T: AnyObject>(_ pointer: OpaquePointer?, _ kind: HandleKind, as type: T.Type) throws(DDEError) -> T {
    guard let pointer else { throw DDEError(.argument, "\(kind.name) is NULL") }
    var status: Int32 = 0
    guard let raw = cdde_handle_remove(UInt(bitPattern: pointer), kind.rawValue, &status) else {
        throw handleError(status, kind)
    }
    return Unmanaged<T>.fromOpaque(raw).takeRetainedValue()
}

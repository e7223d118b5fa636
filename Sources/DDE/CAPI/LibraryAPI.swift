// Library-wide entry points: versions, status names, memory. See include/dde.h. The version
// numbers, sizes and limits themselves, and the dde_* functions that return sizes and limits, are
// generated from abi/dde.abi into ABITable.swift.
import CDDE

@_cdecl("dde_version")
public func dde_version() -> UnsafePointer<CChar> {
    staticCString(Version.string)
}

@_cdecl("dde_version_number")
public func dde_version_number() -> Int32 { Version.number }

@_cdecl("dde_abi_version_major")
public func dde_abi_version_major() -> Int32 { Version.abiMajor }

@_cdecl("dde_abi_version_minor")
public func dde_abi_version_minor() -> Int32 { Version.abiMinor }

@_cdecl("dde_init")
public func dde_init() -> Int32 {
    cdde_init() == 0 ? Status.ok.rawValue : report(DDEError(.internalError, "libsodium failed to initialise"))
}

private func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("dde_status_name")
public func dde_status_name(_ code: Int32) -> UnsafePointer<CChar> {
    guard let status = Status(rawValue: code) else { return staticCString("DDE_ERR_UNKNOWN") }
    return staticCString(status.name)
}

@_cdecl("dde_status_message")
public func dde_status_message(_ code: Int32) -> UnsafePointer<CChar> {
    guard let status = Status(rawValue: code) else { return staticCString("unknown status code") }
    return staticCString(status.summary)
}

@_cdecl("dde_free")
public func dde_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

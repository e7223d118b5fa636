// Library-wide entry points: versions, status names, memory. See include/dde.h.
import CDDE

public enum Version {
    public static let major: Int32 = 0
    public static let minor: Int32 = 1
    public static let patch: Int32 = 0
    public static let number: Int32 = major * 1_000_000 + minor * 1_000 + patch
    public static let string: StaticString = "0.1.0"
}

@_cdecl("dde_version")
public func dde_version() -> UnsafePointer<CChar> {
    UnsafeRawPointer(Version.string.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("dde_version_number")
public func dde_version_number() -> Int32 { Version.number }

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

@_cdecl("dde_publickeybytes") public func dde_publickeybytes() -> Int { PublicKey.byteCount }
@_cdecl("dde_secretkeybytes") public func dde_secretkeybytes() -> Int { KeyPair.secretKeyByteCount }
@_cdecl("dde_seedbytes") public func dde_seedbytes() -> Int { KeyPair.seedByteCount }
@_cdecl("dde_signaturebytes") public func dde_signaturebytes() -> Int { Signature.byteCount }
@_cdecl("dde_hashbytes") public func dde_hashbytes() -> Int { Digest.byteCount }

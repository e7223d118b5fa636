// TEMPORARY: replaced by JSONParser.swift from the json branch.
public enum JSONParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(DDEError) -> JSON {
        throw DDEError(.internalError, "parser pending")
    }
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(DDEError) -> JSON {
        throw DDEError(.internalError, "parser pending")
    }
    public static func parse(_ text: String, limits: JSONLimits = .default) throws(DDEError) -> JSON {
        throw DDEError(.internalError, "parser pending")
    }
}

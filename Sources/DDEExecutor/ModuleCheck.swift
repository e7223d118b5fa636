// The load-time check of a dApp module (docs/EXECUTION.md section 2), done before WasmKit sees
// it: our own walk over every section and every instruction of the code section, so that nothing
// nondeterministic (float, SIMD, threads/atomics) and nothing outside the small instruction set
// dde runs can slip through, whatever WasmKit's defaults are.
import DDE
import WasmKit
import WasmParser

/// What the check learned about a module that passed.
public struct ModuleInfo: Sendable {
    /// The "dde" functions the module imports, in import order.
    public let imports: [HostFunction]
    /// The capabilities those imports belong to (sorted, "io" left out).
    public let capabilitiesImported: [String]
    /// Names of the exported functions of type () -> i32 (the possible actions).
    public let actions: [String]
}

public enum ModuleCheck {
    /// Checks `bytes` and, when `action` is given, that it is an exported `() -> i32`.
    /// `declared` are the task's capabilities; an import outside them is `.capabilityDenied`.
    public static func check(_ bytes: [UInt8], declared: [String], action: String?) throws(DDEError) -> ModuleInfo {
        var types: [SubType] = []
        var imports: [Import] = []
        var functionTypes: [TypeIndex] = []
        var exports: [Export] = []
        var codes: [Code] = []
        var memories: [MemoryType] = []

        for payload in try sections(bytes) {
            switch payload {
            case .header, .customSection, .dataSection, .dataCount, .elementSection, .tableSection:
                break
            case .typeSection(let groups):
                for group in groups { types.append(contentsOf: group.types) }
            case .importSection(let list): imports = list
            case .functionSection(let list): functionTypes = list
            case .memorySection(let list): memories.append(contentsOf: list.map(\.type))
            case .globalSection(let globals):
                for (index, global) in globals.enumerated() {
                    try checkValueType(global.type.valueType, where: "global \(index)")
                }
            case .tagSection:
                throw DDEError(.codeInvalid, "the module uses exception handling (a tag section), which dde does not run")
            case .exportSection(let list): exports = list
            case .startSection:
                throw DDEError(.codeInvalid, "the module has a start function; dde runs only the action: move that work into the action")
            case .codeSection(let list): codes = list
            }
        }

        // Types: functions over i32/i64 only.
        for (index, type) in types.enumerated() {
            guard case .function(let signature) = type.body else {
                throw DDEError(.codeInvalid, "type \(index) is a GC struct or array type, which dde does not run")
            }
            for value in signature.parameters + signature.results {
                try checkValueType(value, where: "type \(index)")
            }
        }
        func signature(_ typeIndex: TypeIndex) throws(DDEError) -> FunctionType {
            guard Int(typeIndex) < types.count, case .function(let signature) = types[Int(typeIndex)].body else {
                throw DDEError(.codeInvalid, "type index \(typeIndex) does not name a function type")
            }
            return signature
        }

        // Imports: only functions of module "dde" that the ABI defines, with the ABI's types,
        // and only those whose capability the task declared.
        var hostImports: [HostFunction] = []
        var importedFunctionTypes: [TypeIndex] = []
        for entry in imports {
            let label = "\(entry.module).\(entry.name)"
            guard case .function(let typeIndex) = entry.descriptor else {
                throw DDEError(.unknownImport, "the module imports \(label), which is not a function: a dApp imports only functions of module \"dde\" and defines its own memory")
            }
            guard Array(entry.module.utf8) == Array(HostFunction.moduleName.utf8), let host = HostFunction.named(entry.name) else {
                throw DDEError(.unknownImport, "the module imports \(label): dApps may import only the functions of module \"dde\" listed in docs/EXECUTION.md")
            }
            let type = try signature(typeIndex)
            let expected = FunctionType(parameters: Array(repeating: .i32, count: host.parameterCount), results: [.i32])
            guard type == expected else {
                throw DDEError(.unknownImport, "the module imports \(label) with type \(describe(type)); the ABI's type is \(describe(expected))")
            }
            if host.capability != HostFunction.io, !declared.contains(where: { Array($0.utf8) == Array(host.capability.utf8) }) {
                throw DDEError(.capabilityDenied, "the module imports \(label) of capability \(host.capability), which the task does not declare (declared: [\(declared.joined(separator: ", "))])")
            }
            hostImports.append(host)
            importedFunctionTypes.append(typeIndex)
        }
        // Memory: at most one (imports of memory were refused above), 32-bit, not shared.
        guard memories.count <= 1 else {
            throw DDEError(.codeInvalid, "the module has \(memories.count) memories; dde runs modules with at most one")
        }
        for memory in memories {
            if memory.shared {
                throw DDEError(.codeNondeterministic, "the module declares a shared memory (threads), which is nondeterministic")
            }
            if memory.isMemory64 {
                throw DDEError(.codeInvalid, "the module declares a 64-bit memory, which dde does not run")
            }
        }
        if hostImports.contains(where: \.usesMemory) {
            let exportsMemory = exports.contains { export in
                if case .memory = export.descriptor, Array(export.name.utf8) == Array("memory".utf8) { return true }
                return false
            }
            guard exportsMemory else {
                throw DDEError(.codeInvalid, "the module imports host functions that read or write guest memory but exports no memory named \"memory\"")
            }
        }

        // Code: locals and every instruction.
        guard codes.count == functionTypes.count else {
            throw DDEError(.codeInvalid, "the module declares \(functionTypes.count) functions but has \(codes.count) bodies")
        }
        for (index, code) in codes.enumerated() {
            let functionIndex = imports.count + index
            for local in code.locals {
                try checkValueType(local, where: "a local of function \(functionIndex)")
            }
            var visitor = InstructionCheck(function: functionIndex)
            var expression = ExpressionParser(code: code)
            while true {
                let visit: ExpressionParser.Visit?
                do {
                    visit = try expression.parse()
                } catch {
                    throw DDEError(.codeInvalid, "function \(functionIndex) does not parse: \(error)")
                }
                guard let visit else { break }
                try visit(visitor: &visitor)
            }
        }

        // Exports: the actions.
        let allFunctionTypes = importedFunctionTypes + functionTypes
        let actionType = FunctionType(parameters: [], results: [.i32])
        var actions: [String] = []
        var actionFound = false
        for export in exports {
            guard case .function(let index) = export.descriptor, Int(index) < allFunctionTypes.count else { continue }
            if try signature(allFunctionTypes[Int(index)]) == actionType {
                actions.append(export.name)
                if let action, Array(export.name.utf8) == Array(action.utf8) { actionFound = true }
            }
        }
        if let action, !actionFound {
            throw DDEError(.noSuchAction, "the module exports no function () -> i32 named \"\(action)\" (its actions: [\(actions.joined(separator: ", "))])")
        }

        var used: [String] = []
        for host in hostImports where host.capability != HostFunction.io && !used.contains(host.capability) {
            used.append(host.capability)
        }
        return ModuleInfo(imports: hostImports, capabilitiesImported: used.sorted(by: bytesOrder), actions: actions)
    }

    /// The checks that depend on the task, for a module that passed `check` with every
    /// capability declared and no action: they throw exactly what `check(bytes, declared:,
    /// action:)` would (its other checks cannot fail for such a module): the first import, in
    /// import order, of a capability not declared, then a missing action.
    public static func checkTask(_ info: ModuleInfo, declared: [String], action: String?) throws(DDEError) {
        for host in info.imports where host.capability != HostFunction.io
            && !declared.contains(where: { sameScalars($0, host.capability) }) {
            throw DDEError(.capabilityDenied, "the module imports \(HostFunction.moduleName).\(host.name) of capability \(host.capability), which the task does not declare (declared: [\(declared.joined(separator: ", "))])")
        }
        if let action, !info.actions.contains(where: { sameScalars($0, action) }) {
            throw DDEError(.noSuchAction, "the module exports no function () -> i32 named \"\(action)\" (its actions: [\(info.actions.joined(separator: ", "))])")
        }
    }

    /// Every section of the module, every proposal enabled so that the checks below, not the
    /// parser, decide (and name) what is refused.
    static func sections(_ bytes: [UInt8]) throws(DDEError) -> [ParsingPayload] {
        var parser = Parser(bytes: bytes, features: .all)
        var payloads: [ParsingPayload] = []
        do {
            while let payload = try parser.parseNext() { payloads.append(payload) }
        } catch {
            throw DDEError(.codeInvalid, "the module does not parse as WebAssembly: \(error)")
        }
        return payloads
    }

    static func checkValueType(_ type: ValueType, where place: String) throws(DDEError) {
        switch type {
        case .i32, .i64: return
        case .f32, .f64:
            throw DDEError(.codeNondeterministic, "\(place) has a floating-point type: dApps must use integers only")
        case .v128:
            throw DDEError(.codeNondeterministic, "\(place) has the SIMD type v128: dApps must not use SIMD")
        case .ref:
            throw DDEError(.codeInvalid, "\(place) has a reference type, which dde does not run")
        }
    }

    static func describe(_ type: FunctionType) -> String {
        func name(_ v: ValueType) -> String {
            switch v {
            case .i32: return "i32"
            case .i64: return "i64"
            case .f32: return "f32"
            case .f64: return "f64"
            case .v128: return "v128"
            case .ref: return "ref"
            }
        }
        return "(" + type.parameters.map(name).joined(separator: ", ") + ") -> (" + type.results.map(name).joined(separator: ", ") + ")"
    }
}

/// Byte order of strings (never Swift String ordering, which is by canonical equivalence).
func bytesOrder(_ a: String, _ b: String) -> Bool {
    Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
}

/// Allows exactly the integer instructions of WebAssembly 1.0 plus sign extension and bulk
/// memory; refuses float, SIMD and atomics as nondeterministic and everything else as invalid.
struct InstructionCheck: AnyInstructionVisitor {
    typealias VisitorError = DDEError
    var binaryOffset: Int = 0
    let function: Int

    init(function: Int) { self.function = function }

    private func nondeterministic(_ what: String) -> DDEError {
        DDEError(.codeNondeterministic, "function \(function) uses \(what) at byte \(binaryOffset): dApps must be integer-only and single-threaded (no float, SIMD, threads or atomics)")
    }

    private func unsupported(_ what: String) -> DDEError {
        DDEError(.codeInvalid, "function \(function) uses \(what) at byte \(binaryOffset), outside the instruction set dde runs (WebAssembly 1.0 integer instructions, sign extension, bulk memory)")
    }

    private func checkBlock(_ type: BlockType) throws(DDEError) {
        if case .type(let value) = type {
            try ModuleCheck.checkValueType(value, where: "a block of function \(function)")
        }
    }

    mutating func visit(_ instruction: Instruction) throws(DDEError) {
        switch instruction {
        case .unreachable, .nop, .else, .end, .br, .brIf, .brTable, .return, .call, .callIndirect,
             .drop, .select, .localGet, .localSet, .localTee, .globalGet, .globalSet,
             .i32Const, .i64Const, .i32Eqz, .i64Eqz,
             .memoryInit, .dataDrop, .memoryCopy, .memoryFill, .tableInit, .elemDrop, .tableCopy:
            return
        case .block(let type), .loop(let type), .if(let type):
            try checkBlock(type)
        case .typedSelect(let type):
            try ModuleCheck.checkValueType(type, where: "a select of function \(function)")
        case .memorySize(let memory), .memoryGrow(let memory):
            guard memory == 0 else { throw unsupported("a second memory") }
        case .load(let load, _):
            switch load {
            case .i32Load, .i64Load, .i32Load8S, .i32Load8U, .i32Load16S, .i32Load16U, .i64Load8S,
                 .i64Load8U, .i64Load16S, .i64Load16U, .i64Load32S, .i64Load32U:
                return
            case .f32Load, .f64Load: throw nondeterministic("a floating-point load")
            case .i32AtomicLoad, .i64AtomicLoad, .i32AtomicLoad8U, .i32AtomicLoad16U, .i64AtomicLoad8U,
                 .i64AtomicLoad16U, .i64AtomicLoad32U:
                throw nondeterministic("an atomic load")
            default: throw nondeterministic("a SIMD load")
            }
        case .store(let store, _):
            switch store {
            case .i32Store, .i64Store, .i32Store8, .i32Store16, .i64Store8, .i64Store16, .i64Store32:
                return
            case .f32Store, .f64Store: throw nondeterministic("a floating-point store")
            case .v128Store: throw nondeterministic("a SIMD store")
            default: throw nondeterministic("an atomic store")
            }
        case .f32Const, .f64Const:
            throw nondeterministic("a floating-point constant")
        case .cmp(let cmp):
            switch cmp {
            case .i32Eq, .i32Ne, .i32LtS, .i32LtU, .i32GtS, .i32GtU, .i32LeS, .i32LeU, .i32GeS, .i32GeU,
                 .i64Eq, .i64Ne, .i64LtS, .i64LtU, .i64GtS, .i64GtU, .i64LeS, .i64LeU, .i64GeS, .i64GeU:
                return
            default: throw nondeterministic("a floating-point comparison")
            }
        case .unary(let unary):
            switch unary {
            case .i32Clz, .i32Ctz, .i32Popcnt, .i64Clz, .i64Ctz, .i64Popcnt, .i32Extend8S, .i32Extend16S,
                 .i64Extend8S, .i64Extend16S, .i64Extend32S:
                return
            default: throw nondeterministic("a floating-point operator")
            }
        case .binary(let binary):
            switch binary {
            case .i32Add, .i32Sub, .i32Mul, .i32DivS, .i32DivU, .i32RemS, .i32RemU, .i32And, .i32Or,
                 .i32Xor, .i32Shl, .i32ShrS, .i32ShrU, .i32Rotl, .i32Rotr,
                 .i64Add, .i64Sub, .i64Mul, .i64DivS, .i64DivU, .i64RemS, .i64RemU, .i64And, .i64Or,
                 .i64Xor, .i64Shl, .i64ShrS, .i64ShrU, .i64Rotl, .i64Rotr:
                return
            default: throw nondeterministic("a floating-point operator")
            }
        case .conversion(let conversion):
            switch conversion {
            case .i32WrapI64, .i64ExtendI32S, .i64ExtendI32U:
                return
            default: throw nondeterministic("a floating-point conversion")
            }
        case .v128Const, .i8x16Shuffle, .simd, .simdLane, .simdMemLane:
            throw nondeterministic("a SIMD instruction")
        case .atomicFence, .memoryAtomicNotify, .memoryAtomicWait32, .memoryAtomicWait64,
             .i32AtomicRmwAdd, .i64AtomicRmwAdd, .i32AtomicRmw8AddU, .i32AtomicRmw16AddU, .i64AtomicRmw8AddU,
             .i64AtomicRmw16AddU, .i64AtomicRmw32AddU, .i32AtomicRmwSub, .i64AtomicRmwSub, .i32AtomicRmw8SubU,
             .i32AtomicRmw16SubU, .i64AtomicRmw8SubU, .i64AtomicRmw16SubU, .i64AtomicRmw32SubU,
             .i32AtomicRmwAnd, .i64AtomicRmwAnd, .i32AtomicRmw8AndU, .i32AtomicRmw16AndU, .i64AtomicRmw8AndU,
             .i64AtomicRmw16AndU, .i64AtomicRmw32AndU, .i32AtomicRmwOr, .i64AtomicRmwOr, .i32AtomicRmw8OrU,
             .i32AtomicRmw16OrU, .i64AtomicRmw8OrU, .i64AtomicRmw16OrU, .i64AtomicRmw32OrU,
             .i32AtomicRmwXor, .i64AtomicRmwXor, .i32AtomicRmw8XorU, .i32AtomicRmw16XorU, .i64AtomicRmw8XorU,
             .i64AtomicRmw16XorU, .i64AtomicRmw32XorU, .i32AtomicRmwXchg, .i64AtomicRmwXchg,
             .i32AtomicRmw8XchgU, .i32AtomicRmw16XchgU, .i64AtomicRmw8XchgU, .i64AtomicRmw16XchgU,
             .i64AtomicRmw32XchgU, .i32AtomicRmwCmpxchg, .i64AtomicRmwCmpxchg, .i32AtomicRmw8CmpxchgU,
             .i32AtomicRmw16CmpxchgU, .i64AtomicRmw8CmpxchgU, .i64AtomicRmw16CmpxchgU, .i64AtomicRmw32CmpxchgU:
            throw nondeterministic("a threads/atomics instruction")
        default:
            throw unsupported("an instruction of a later proposal (reference types, tail calls, exceptions or GC)")
        }
    }
}

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

/// One reason the executor refuses a module: its status, a message that says what to change, and
/// where (the function index counts imports, as WebAssembly does; the offset is the byte of the
/// instruction in the module file, as `llvm-objdump -d` prints it).
public struct ModuleFinding: Sendable, Equatable {
    public let status: Status
    public let message: String
    public let function: Int?
    public let offset: Int?

    public init(_ status: Status, _ message: String, function: Int? = nil, offset: Int? = nil) {
        self.status = status
        self.message = message
        self.function = function
        self.offset = offset
    }

    public var error: DDEError { DDEError(status, ErrorDetail(message)) }
}

/// Everything the load-time check found: every refusal in the order the executor meets them (the
/// first is the one a run reports), and what it learned (nil when the module did not get that far).
public struct ModuleInspection: Sendable {
    public let findings: [ModuleFinding]
    /// Imports, capabilities and actions, when the sections parsed.
    public let info: ModuleInfo?
    /// Function names from the module's "name" section (index space with imports), when present.
    public let functionNames: [Int: String]
}

public enum ModuleCheck {
    /// Checks `bytes` and, when `action` is given, that it is an exported `() -> i32`.
    /// `declared` are the task's capabilities; an import outside them is `.capabilityDenied`.
    /// Throws the first finding of `inspect`.
    public static func check(_ bytes: [UInt8], declared: [String], action: String?) throws(DDEError) -> ModuleInfo {
        let inspection = inspect(bytes, declared: declared, action: action)
        if let first = inspection.findings.first { throw first.error }
        return inspection.info!
    }

    /// Every load-time refusal of `bytes`, with its place, in the order the checks meet them.
    /// `declared` nil checks no capability (`info.capabilitiesImported` says what a task must
    /// declare); `action` nil checks no action.
    public static func inspect(_ bytes: [UInt8], declared: [String]?, action: String?) -> ModuleInspection {
        var findings: [ModuleFinding] = []
        func add(_ status: Status, _ message: String, function: Int? = nil, offset: Int? = nil) {
            findings.append(ModuleFinding(status, message, function: function, offset: offset))
        }
        var types: [SubType] = []
        var imports: [Import] = []
        var functionTypes: [TypeIndex] = []
        var exports: [Export] = []
        var codes: [Code] = []
        var memories: [MemoryType] = []
        var names: [Int: String] = [:]

        let payloads: [ParsingPayload]
        do {
            payloads = try sections(bytes)
        } catch {
            return ModuleInspection(findings: [ModuleFinding(error.status, error.detail)], info: nil, functionNames: [:])
        }
        for payload in payloads {
            switch payload {
            case .header, .dataSection, .dataCount, .elementSection, .tableSection:
                break
            case .customSection(let section):
                if section.name == "name" { names = functionNames(section) }
            case .typeSection(let groups):
                for group in groups { types.append(contentsOf: group.types) }
            case .importSection(let list): imports = list
            case .functionSection(let list): functionTypes = list
            case .memorySection(let list): memories.append(contentsOf: list.map(\.type))
            case .globalSection(let globals):
                for (index, global) in globals.enumerated() {
                    if let finding = valueTypeFinding(global.type.valueType, where: "global \(index)") { findings.append(finding) }
                }
            case .tagSection:
                add(.codeInvalid, "the module uses exception handling (a tag section), which dde does not run: build without -fwasm-exceptions (C++: -fno-exceptions)")
            case .exportSection(let list): exports = list
            case .startSection:
                add(.codeInvalid, "the module has a start function; dde runs only the action: move that work into the action (link with --no-entry; C++ static constructors are not run)")
            case .codeSection(let list): codes = list
            }
        }

        // Types: functions over i32/i64 only.
        var badTypes: Set<Int> = []
        for (index, type) in types.enumerated() {
            guard case .function(let signature) = type.body else {
                add(.codeInvalid, "type \(index) is a GC struct or array type, which dde does not run: build without GC (no -mgc; Kotlin, Dart and Java wasm targets use GC)")
                badTypes.insert(index)
                continue
            }
            for value in signature.parameters + signature.results {
                if let finding = valueTypeFinding(value, where: "type \(index)") { findings.append(finding) }
            }
        }
        func signature(_ typeIndex: TypeIndex) -> FunctionType? {
            guard Int(typeIndex) < types.count, case .function(let signature) = types[Int(typeIndex)].body else { return nil }
            return signature
        }
        func noSignature(_ typeIndex: TypeIndex) {
            if !badTypes.contains(Int(typeIndex)) {
                add(.codeInvalid, "type index \(typeIndex) does not name a function type: the module is malformed, rebuild it")
            }
        }

        // Imports: only functions of module "dde" that the ABI defines, with the ABI's types,
        // and only those whose capability the task declared.
        var hostImports: [HostFunction] = []
        var importedFunctionTypes: [TypeIndex] = []
        for entry in imports {
            let label = "\(entry.module).\(entry.name)"
            guard case .function(let typeIndex) = entry.descriptor else {
                add(.unknownImport, "the module imports \(label), which is not a function: a dApp imports only functions of module \"dde\" and defines its own memory (do not link with --import-memory or --import-table)")
                continue
            }
            importedFunctionTypes.append(typeIndex)
            guard Array(entry.module.utf8) == Array(HostFunction.moduleName.utf8), let host = HostFunction.named(entry.name) else {
                let hint = Array(entry.module.utf8) == Array(HostFunction.moduleName.utf8)
                    ? "dde has no function \"\(entry.name)\" (docs/EXECUTION.md section 3 lists them)"
                    : "the linker turned an undefined symbol into an import: define \(entry.name) in the module (no libc: the guest SDK has dde_memcpy, dde_alloc, ...) or stop calling it, and do not link with --allow-undefined"
                add(.unknownImport, "the module imports \(label): dApps may import only the functions of module \"dde\" listed in docs/EXECUTION.md; \(hint)")
                continue
            }
            guard let type = signature(typeIndex) else {
                noSignature(typeIndex)
                continue
            }
            let expected = FunctionType(parameters: Array(repeating: .i32, count: host.parameterCount), results: [.i32])
            guard type == expected else {
                add(.unknownImport, "the module imports \(label) with type \(describe(type)); the ABI's type is \(describe(expected)): declare it as in guest/c/dde_guest.h")
                continue
            }
            if let declared, host.capability != HostFunction.io, !declared.contains(where: { Array($0.utf8) == Array(host.capability.utf8) }) {
                findings.append(capabilityDenied(host, declared: declared))
            }
            hostImports.append(host)
        }
        // Memory: at most one (imports of memory were refused above), 32-bit, not shared.
        if memories.count > 1 {
            add(.codeInvalid, "the module has \(memories.count) memories; dde runs modules with at most one: build without -mmultimemory")
        }
        for memory in memories {
            if memory.shared {
                add(.codeNondeterministic, "the module declares a shared memory (threads), which is nondeterministic: build without -matomics, -pthread and --shared-memory")
            }
            if memory.isMemory64 {
                add(.codeInvalid, "the module declares a 64-bit memory, which dde does not run: build for wasm32, not wasm64")
            }
        }
        if hostImports.contains(where: \.usesMemory) {
            let exportsMemory = exports.contains { export in
                if case .memory = export.descriptor, Array(export.name.utf8) == Array("memory".utf8) { return true }
                return false
            }
            if !exportsMemory {
                add(.codeInvalid, "the module imports host functions that read or write guest memory but exports no memory named \"memory\": link with --export-memory (C: -Wl,--export-memory)")
            }
        }

        // Code: locals and every instruction. The reference-types call_indirect findings go last
        // (after the action's): WasmKit's parser refused those modules after every check here
        // before this rule named them, so a run still reports the status it reported then.
        var late: [ModuleFinding] = []
        if codes.count != functionTypes.count {
            add(.codeInvalid, "the module declares \(functionTypes.count) functions but has \(codes.count) bodies: the module is malformed or truncated, rebuild it")
        } else {
            for (index, code) in codes.enumerated() {
                let functionIndex = imports.count + index
                let place = "function \(functionIndex)" + (names[functionIndex].map { " (\($0))" } ?? "")
                if let bad = code.locals.first(where: { valueTypeFinding($0, where: "") != nil }),
                   let finding = valueTypeFinding(bad, where: "a local of \(place)") {
                    findings.append(ModuleFinding(finding.status, finding.message, function: functionIndex))
                }
                var visitor = InstructionCheck(function: functionIndex, place: place, module: bytes)
                var expression = ExpressionParser(code: code)
                while true {
                    let visit: ExpressionParser.Visit?
                    do {
                        visit = try expression.parse()
                    } catch {
                        visitor.findings.append(ModuleFinding(.codeInvalid, "\(place) does not parse: \(error): the module is malformed or truncated, rebuild it", function: functionIndex, offset: expression.offset))
                        break
                    }
                    guard let visit else { break }
                    visit(visitor: &visitor)
                }
                findings.append(contentsOf: visitor.findings)
                late.append(contentsOf: visitor.lateFindings)
            }
        }

        // Exports: the actions.
        let allFunctionTypes = importedFunctionTypes + functionTypes
        let actionType = FunctionType(parameters: [], results: [.i32])
        var actions: [String] = []
        var actionFound = false
        var swiftConvention: [String] = []
        for export in exports {
            guard case .function(let index) = export.descriptor, Int(index) < allFunctionTypes.count else { continue }
            let type = signature(allFunctionTypes[Int(index)])
            if type == actionType {
                actions.append(export.name)
                if let action, Array(export.name.utf8) == Array(action.utf8) { actionFound = true }
            } else if let type, type.parameters == [.i32, .i32], type.results == [.i32] {
                swiftConvention.append(export.name)
            }
        }
        if let action, !actionFound {
            var message = noSuchActionMessage(action, actions: actions)
            if swiftConvention.contains(where: { Array($0.utf8) == Array(action.utf8) }) {
                message += "; \"\(action)\" is exported as (i32, i32) -> i32, Swift's calling convention: add @_cdecl(\"dde_action_\(action)\") beside @_expose(wasm, \"\(action)\")"
            }
            add(.noSuchAction, message)
        }
        findings.append(contentsOf: late)

        var used: [String] = []
        for host in hostImports where host.capability != HostFunction.io && !used.contains(host.capability) {
            used.append(host.capability)
        }
        let info = ModuleInfo(imports: hostImports, capabilitiesImported: used.sorted(by: bytesOrder), actions: actions)
        return ModuleInspection(findings: findings, info: info, functionNames: names)
    }

    /// The checks that depend on the task, for a module that passed `check` with every
    /// capability declared and no action: they throw exactly what `check(bytes, declared:,
    /// action:)` would (its other checks cannot fail for such a module): the first import, in
    /// import order, of a capability not declared, then a missing action.
    public static func checkTask(_ info: ModuleInfo, declared: [String], action: String?) throws(DDEError) {
        for host in info.imports where host.capability != HostFunction.io
            && !declared.contains(where: { sameScalars($0, host.capability) }) {
            throw capabilityDenied(host, declared: declared).error
        }
        if let action, !info.actions.contains(where: { sameScalars($0, action) }) {
            throw DDEError(.noSuchAction, ErrorDetail(noSuchActionMessage(action, actions: info.actions)))
        }
    }

    static func capabilityDenied(_ host: HostFunction, declared: [String]) -> ModuleFinding {
        ModuleFinding(.capabilityDenied, "the module imports \(HostFunction.moduleName).\(host.name) of capability \(host.capability), which the task does not declare (declared: [\(declared.joined(separator: ", "))]): declare it (dde task create --cap \(host.capability)) or stop calling \(host.name)")
    }

    static func noSuchActionMessage(_ action: String, actions: [String]) -> String {
        "the module exports no function () -> i32 named \"\(action)\" (its actions: [\(actions.joined(separator: ", "))]): export it (C: DDE_ACTION(\(action)) from guest/c/dde_guest.h)"
    }

    /// Function names of a "name" section (none when it does not parse: names are only a help).
    static func functionNames(_ section: CustomSection) -> [Int: String] {
        var parser = NameSectionParser(stream: StaticByteStreamSource(bytes: Array(section.bytes)))
        guard let all = try? parser.parseAll() else { return [:] }
        var names: [Int: String] = [:]
        for case .functions(let map) in all {
            for (index, name) in map { names[Int(index)] = name }
        }
        return names
    }

    /// Every section of the module, every proposal enabled so that the checks below, not the
    /// parser, decide (and name) what is refused.
    static func sections(_ bytes: [UInt8]) throws(DDEError) -> [ParsingPayload] {
        var parser = Parser(bytes: bytes, features: .all)
        var payloads: [ParsingPayload] = []
        do {
            while let payload = try parser.parseNext() { payloads.append(payload) }
        } catch {
            throw DDEError(.codeInvalid, "the module does not parse as WebAssembly: \(error): give the .wasm the compiler wrote (or a .wat), not truncated")
        }
        return payloads
    }

    static func valueTypeFinding(_ type: ValueType, where place: String) -> ModuleFinding? {
        switch type {
        case .i32, .i64: return nil
        case .f32, .f64:
            return ModuleFinding(.codeNondeterministic, "\(place) has the floating-point type \(name(type)): dApps must use integers only (scaled integers, not float/double in C or Float/Double in Swift)")
        case .v128:
            return ModuleFinding(.codeNondeterministic, "\(place) has the SIMD type v128: dApps must not use SIMD (build without -msimd128)")
        case .ref:
            return ModuleFinding(.codeInvalid, "\(place) has a reference type, which dde does not run: build with -mcpu=mvp (guest/c/dde_guest.mk), which has no reference types")
        }
    }

    static func name(_ v: ValueType) -> String {
        switch v {
        case .i32: return "i32"
        case .i64: return "i64"
        case .f32: return "f32"
        case .f64: return "f64"
        case .v128: return "v128"
        case .ref: return "ref"
        }
    }

    static func describe(_ type: FunctionType) -> String {
        "(" + type.parameters.map(name).joined(separator: ", ") + ") -> (" + type.results.map(name).joined(separator: ", ") + ")"
    }
}

/// Byte order of strings (never Swift String ordering, which is by canonical equivalence).
func bytesOrder(_ a: String, _ b: String) -> Bool {
    Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
}

/// Allows exactly the integer instructions of WebAssembly 1.0 plus sign extension and bulk
/// memory; records float, SIMD and atomics as nondeterministic and everything else as invalid,
/// each with its place, and goes on to the next instruction.
struct InstructionCheck: AnyInstructionVisitor {
    typealias VisitorError = Never
    var binaryOffset: Int = 0
    let function: Int
    /// "function N" or "function N (name)".
    let place: String
    /// The whole module (offsets are into it).
    let module: [UInt8]
    var findings: [ModuleFinding] = []
    /// The reference-types call_indirect findings, reported after all others.
    var lateFindings: [ModuleFinding] = []

    init(function: Int, place: String, module: [UInt8]) {
        self.function = function
        self.place = place
        self.module = module
    }

    private var here: String { "\(place) at byte 0x\(String(binaryOffset, radix: 16))" }

    private mutating func nondeterministic(_ what: String, _ change: String) {
        findings.append(ModuleFinding(.codeNondeterministic, "\(what) in \(here): \(change)", function: function, offset: binaryOffset))
    }

    private mutating func float(_ instruction: String) {
        nondeterministic("float instruction \(instruction)", "dApps must use integer arithmetic (scaled integers, not float/double in C or Float/Double in Swift, whose Dictionary and Set use Double inside)")
    }

    private mutating func simd(_ instruction: String) {
        nondeterministic("SIMD instruction \(instruction)", "dApps must not use SIMD: build without -msimd128 (guest/c/dde_guest.mk)")
    }

    private mutating func atomic(_ instruction: String) {
        nondeterministic("atomic instruction \(instruction)", "dApps are single-threaded: build without -matomics and -pthread")
    }

    private mutating func unsupported(_ what: String, _ change: String) {
        findings.append(ModuleFinding(.codeInvalid, "\(what) in \(here), outside the instruction set dde runs (WebAssembly 1.0 integer instructions, sign extension, bulk memory): \(change)", function: function, offset: binaryOffset))
    }

    private mutating func checkType(_ type: ValueType, _ what: String) {
        if let finding = ModuleCheck.valueTypeFinding(type, where: "\(what) in \(here)") {
            findings.append(ModuleFinding(finding.status, finding.message, function: function, offset: binaryOffset))
        }
    }

    private mutating func checkBlock(_ type: BlockType) {
        if case .type(let value) = type { checkType(value, "a block") }
    }

    /// call_indirect's table byte: WebAssembly 1.0 has one reserved byte 0x00 there; the
    /// reference-types proposal (clang's default wasm32 CPU, LLVM's call-indirect-overlong) writes
    /// a table index LEB, often padded to five bytes, which the executor's parser refuses.
    private mutating func checkCallIndirect() {
        var at = binaryOffset + 1
        while at < module.count, module[at] & 0x80 != 0 { at += 1 }  // the type index LEB
        at += 1
        guard at < module.count, module[at] != 0 else { return }
        lateFindings.append(ModuleFinding(.codeInvalid, "call_indirect in \(here) encodes its table index the reference-types way (clang's default wasm32 CPU), which dde refuses: build with -mcpu=mvp -mbulk-memory -msign-ext (DDE_GUEST_CFLAGS in guest/c/dde_guest.mk; Swift: -target-cpu mvp)", function: function, offset: binaryOffset))
    }

    mutating func visit(_ instruction: Instruction) {
        switch instruction {
        case .unreachable, .nop, .else, .end, .br, .brIf, .brTable, .return, .call,
             .drop, .select, .localGet, .localSet, .localTee, .globalGet, .globalSet,
             .i32Const, .i64Const, .i32Eqz, .i64Eqz,
             .memoryInit, .dataDrop, .memoryCopy, .memoryFill, .tableInit, .elemDrop, .tableCopy:
            return
        case .callIndirect:
            checkCallIndirect()
        case .block(let type), .loop(let type), .if(let type):
            checkBlock(type)
        case .typedSelect(let type):
            checkType(type, "a select")
        case .memorySize(let memory), .memoryGrow(let memory):
            if memory != 0 { unsupported("a second memory", "build without -mmultimemory") }
        case .load(let load, _):
            switch load {
            case .i32Load, .i64Load, .i32Load8S, .i32Load8U, .i32Load16S, .i32Load16U, .i64Load8S,
                 .i64Load8U, .i64Load16S, .i64Load16U, .i64Load32S, .i64Load32U:
                return
            case .f32Load, .f64Load: float(wasmName(load))
            case .i32AtomicLoad, .i64AtomicLoad, .i32AtomicLoad8U, .i32AtomicLoad16U, .i64AtomicLoad8U,
                 .i64AtomicLoad16U, .i64AtomicLoad32U:
                atomic(wasmName(load))
            default: simd(wasmName(load))
            }
        case .store(let store, _):
            switch store {
            case .i32Store, .i64Store, .i32Store8, .i32Store16, .i64Store8, .i64Store16, .i64Store32:
                return
            case .f32Store, .f64Store: float(wasmName(store))
            case .v128Store: simd("v128.store")
            default: atomic(wasmName(store))
            }
        case .f32Const: float("f32.const")
        case .f64Const: float("f64.const")
        case .cmp(let cmp):
            switch cmp {
            case .i32Eq, .i32Ne, .i32LtS, .i32LtU, .i32GtS, .i32GtU, .i32LeS, .i32LeU, .i32GeS, .i32GeU,
                 .i64Eq, .i64Ne, .i64LtS, .i64LtU, .i64GtS, .i64GtU, .i64LeS, .i64LeU, .i64GeS, .i64GeU:
                return
            default: float(wasmName(cmp))
            }
        case .unary(let unary):
            switch unary {
            case .i32Clz, .i32Ctz, .i32Popcnt, .i64Clz, .i64Ctz, .i64Popcnt, .i32Extend8S, .i32Extend16S,
                 .i64Extend8S, .i64Extend16S, .i64Extend32S:
                return
            default: float(wasmName(unary))
            }
        case .binary(let binary):
            switch binary {
            case .i32Add, .i32Sub, .i32Mul, .i32DivS, .i32DivU, .i32RemS, .i32RemU, .i32And, .i32Or,
                 .i32Xor, .i32Shl, .i32ShrS, .i32ShrU, .i32Rotl, .i32Rotr,
                 .i64Add, .i64Sub, .i64Mul, .i64DivS, .i64DivU, .i64RemS, .i64RemU, .i64And, .i64Or,
                 .i64Xor, .i64Shl, .i64ShrS, .i64ShrU, .i64Rotl, .i64Rotr:
                return
            default: float(wasmName(binary))
            }
        case .conversion(let conversion):
            switch conversion {
            case .i32WrapI64, .i64ExtendI32S, .i64ExtendI32U:
                return
            default: float(wasmName(conversion))
            }
        case .v128Const: simd("v128.const")
        case .i8x16Shuffle: simd("i8x16.shuffle")
        case .simd(let op): simd(wasmName(op))
        case .simdLane(let op, _): simd(wasmName(op))
        case .simdMemLane(let op, _, _): simd(wasmName(op))
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
            atomic(wasmName(instruction))
        case .returnCall, .returnCallIndirect, .returnCallRef:
            unsupported("tail call \(wasmName(instruction))", "build without -mtail-call")
        default:
            unsupported("instruction \(wasmName(instruction)) of a later proposal (reference types, exceptions or GC)",
                        "build with -mcpu=mvp -mbulk-memory -msign-ext (guest/c/dde_guest.mk) and without -fwasm-exceptions")
        }
    }
}

/// The text-format name of an instruction from WasmParser's case name: f64Add -> f64.add,
/// i32TruncSatF64S -> i32.trunc_sat_f64_s (payloads dropped).
func wasmName(_ value: Any) -> String {
    var text = String(describing: value)
    if let paren = text.firstIndex(of: "(") { text = String(text[..<paren]) }
    let chars = Array(text)
    guard let firstUpper = chars.firstIndex(where: { $0.isUppercase }) else { return text }
    var words: [String] = []
    var word = ""
    for c in chars[firstUpper...] {
        if c.isUppercase, !word.isEmpty { words.append(word); word = "" }
        word.append(c)
    }
    if !word.isEmpty { words.append(word) }
    let prefix = String(chars[..<firstUpper])
    let rest = words.map { $0.lowercased() }.joined(separator: "_")
    return prefix.isEmpty ? rest : prefix + "." + rest
}

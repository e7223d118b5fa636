// `dde code check`: every load-time refusal of a module, as the executor would meet them
// (ModuleCheck's findings, then WasmKit's parse and validation), for dApp authors.
import DDE
@_spi(Fuzzing) import WasmKit

extension Sandbox {
    /// Everything that would stop `module` from loading for a task that declares `declared`
    /// (nil: any capability; `info.capabilitiesImported` says which a task needs) and names
    /// `action` (nil: no action checked). ModuleCheck's findings first, in the order a run meets
    /// them; when there are none, WasmKit parses the module, validates every function (eager
    /// compilation) and instantiates it with the host functions (running nothing: start
    /// functions are refused above), so what only WasmKit refuses is named too.
    public func inspect(module bytes: [UInt8], declared: [String]?, action: String?) -> ModuleInspection {
        let inspection = ModuleCheck.inspect(bytes, declared: declared, action: action)
        guard inspection.findings.isEmpty else { return inspection }
        var extra: ModuleFinding?
        do throws(DDEError) {
            let module = try Sandbox.parse(bytes)
            let store = WasmKit.Store(engine: engine)
            let limiter = MemoryLimiter(maxBytes: Sandbox.defaultMemoryCap)
            store.resourceLimiter = limiter
            var imports = Imports()
            for function in HostFunction.all {
                imports.define(module: HostFunction.moduleName, name: function.name, WasmKit.Function(
                    store: store, parameters: Array(repeating: .i32, count: function.parameterCount), results: [.i32]
                ) { _, _ in [.i32(0)] })
            }
            do {
                _ = try module.instantiate(store: store, imports: imports)
            } catch where limiter.refused != nil {
                extra = ModuleFinding(.memoryLimit, "the module's initial memory (\(limiter.refused ?? 0) bytes) is more than the executor's default cap of \(Sandbox.defaultMemoryCap) bytes: declare less memory")
            } catch let trap as Trap {
                extra = ModuleFinding(.guestTrap, "the module traps while it is instantiated (a data or element segment out of bounds?): \(Sandbox.reason(trap))")
            } catch {
                extra = ModuleFinding(.codeInvalid, "WasmKit refused the module: \(Sandbox.reason(error))")
            }
        } catch {
            extra = ModuleFinding(error.status, error.detail)
        }
        guard let extra else { return inspection }
        return ModuleInspection(findings: [extra], info: inspection.info, functionNames: inspection.functionNames)
    }
}

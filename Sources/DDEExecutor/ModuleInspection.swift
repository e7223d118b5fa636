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
            do throws(ValidationFailure) {
                try validate(module)
            } catch {
                switch error {
                case .memory(let bytes):
                    extra = ModuleFinding(.memoryLimit, "the module's initial memory (\(bytes) bytes) is more than the executor's default cap of \(Sandbox.defaultMemoryCap) bytes: declare less memory")
                case .trap(let trap):
                    extra = ModuleFinding(.guestTrap, "the module traps while it is instantiated (a data or element segment out of bounds?): \(trap)")
                case .refused(let error):
                    extra = ModuleFinding(.codeInvalid, "WasmKit refused the module: \(error)")
                }
            }
        } catch {
            extra = ModuleFinding(error.status, error.detail)
        }
        guard let extra else { return inspection }
        return ModuleInspection(findings: [extra], info: inspection.info, functionNames: inspection.functionNames)
    }
}

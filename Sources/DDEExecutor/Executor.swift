// The executor: deterministic WebAssembly execution that produces signed execution proofs.
import DDE

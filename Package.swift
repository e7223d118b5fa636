// swift-tools-version:5.9
// dde: verifiable delegated compute for low-power devices.
//
// Targets, in the order a task flows through them:
//   CDDE         C shim: libsodium, SQLite, libc and the thread-local error slot (C, no Swift).
//   DDE          the delegator core and its C API (libdde.so). No Foundation: it also builds
//                under Embedded Swift for aarch64 and armv7 (scripts/build-embedded.sh).
//   DDEExecutor  deterministic WebAssembly execution on WasmKit; host-only.
//   DDENetwork   host transports (the in-process hub) and the executor node loop (runs tasks,
//                serves code to peers); host-only.
//   DDEAdversary misbehaving executors (forge, lie, slow, silent) as ExecutorNode answer hooks:
//                test support, not a product.
//   DDECommands  the `dde` subcommands (ArgumentParser) and their shared option groups
//                (Options.swift): a library, so tests run commands in process (as WasmKit's
//                CLICommands).
//   DDECLI       the `dde` executable: a main over DDECommands.
//
// Benchmarks and test tools (benchmarks/Sources; executable targets but no products, so nothing
// test-only ships: build one with `swift build [-c release] --product NAME`):
//   DDEBench           the raw floors (RawFloor: Ed25519, SQLite) and the fuel-metering benchmark.
//   dde-torture        the child of scripts/test-crash.sh (commits in a loop while it is killed)
//                      and the store/executor benchmarks (benchmarks/store.sh, executor.sh).
//   dde-bench-network  delegations timed over MQTT (benchmarks/network.sh).
//   dde-bench-state    the state tree measurements (docs/PROTOCOL.md section 6).
//   dde-bench-scaling  one wallet transfer against the wallet's size (benchmarks/scaling.sh).
//   dde-sim            the Byzantine simulation (issue 11; scripts/test-sim.sh, BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "dde",
    products: [
        // Built as libDDECore.so; scripts/build-lib.sh links it with export control and the static
        // Swift runtime and installs it as libdde.so (the product name `dde` is the command's).
        .library(name: "DDECore", type: .dynamic, targets: ["DDE"]),
        .executable(name: "dde", targets: ["DDECLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .target(
            name: "CDDE",
            linkerSettings: [.linkedLibrary("sodium"), .linkedLibrary("sqlite3")]
        ),
        .target(name: "DDE", dependencies: ["CDDE"]),
        .target(
            name: "DDEExecutor",
            dependencies: [
                "CDDE", "DDE",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
                .product(name: "WAT", package: "WasmKit"),
            ]
        ),
        .target(name: "DDENetwork", dependencies: ["CDDE", "DDE", "DDEExecutor"]),
        .target(name: "DDEAdversary", dependencies: ["DDE", "DDENetwork"]),
        .target(
            name: "DDECommands",
            dependencies: [
                // DDEAdversary: `dde demo` shows a liar being caught, and the hidden
                // `--test-behaviour` of `dde node` and `dde exec` runs misbehaving executors as
                // separate processes for the MQTT and CLI tests.
                "DDE", "DDEExecutor", "DDENetwork", "DDEAdversary",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "WAT", package: "WasmKit"),
            ]
        ),
        .executableTarget(name: "DDECLI", dependencies: ["DDECommands"]),

        // Benchmarks and test tools: not products (see the top of this file).
        .target(name: "DDEBench", dependencies: ["CDDE", "DDE", "DDEExecutor"], path: "benchmarks/Sources/DDEBench"),
        .executableTarget(
            name: "dde-torture", dependencies: ["CDDE", "DDE", "DDEExecutor", "DDEBench"],
            path: "benchmarks/Sources/dde-torture"
        ),
        .executableTarget(
            name: "dde-bench-network",
            dependencies: [
                "CDDE", "DDE", "DDEExecutor", "DDEBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "benchmarks/Sources/dde-bench-network"
        ),
        // The state tree measurements (issue 15; docs/PROTOCOL.md section 6): the compact sparse
        // Merkle tree against the sorted RFC 6962 tree.
        .executableTarget(name: "dde-bench-state", dependencies: ["DDE"], path: "benchmarks/Sources/dde-bench-state"),
        // One wallet transfer against the wallet's size (issue 15; benchmarks/scaling.sh).
        .executableTarget(name: "dde-bench-scaling", dependencies: ["DDE", "DDEExecutor", "DDENetwork"],
                          path: "benchmarks/Sources/dde-bench-scaling"),
        // The Byzantine simulation (issue 11): requesters on the shipped Delegator, simulated
        // network, clock and liars (`dde-sim --help` says what is real and what is simulated).
        .executableTarget(
            name: "dde-sim",
            dependencies: [
                "DDE", "DDEExecutor", "DDEAdversary",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "benchmarks/Sources/dde-sim"
        ),

        .testTarget(name: "DDETests", dependencies: ["DDE"]),
        .testTarget(name: "DDEExecutorTests", dependencies: ["DDE", "DDEExecutor"]),
        .testTarget(name: "DDENetworkTests", dependencies: ["DDE", "DDEExecutor", "DDENetwork", "DDEAdversary"]),
        // `dde` commands run in process (DDECommand.run(_:console:)); scripts/test-cli.sh runs the binary.
        .testTarget(name: "DDECommandsTests", dependencies: ["DDE", "DDECommands"]),
        // MQTTTransport and `dde node` processes against a real Mosquitto broker the tests start
        // (scripts/test-e2e.sh builds `dde` first and runs only these).
        .testTarget(name: "DDEMQTTTests", dependencies: ["DDE", "DDEExecutor"]),
        .testTarget(name: "DDEBenchTests", dependencies: ["DDEBench"], path: "benchmarks/Tests/DDEBenchTests"),
    ]
)

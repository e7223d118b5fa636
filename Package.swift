// swift-tools-version:5.9
// dde: verifiable delegated compute for low-power devices.
//
// Targets, in the order a task flows through them:
//   CDDE         C shim: libsodium, SQLite, libc and the thread-local error slot (C, no Swift).
//   DDE          the delegator core and its C API (libdde.so). No Foundation: it also builds
//                under Embedded Swift for aarch64 (scripts/build-aarch64.sh).
//   DDEExecutor  deterministic WebAssembly execution on WasmKit; host-only.
//   DDENetwork   host transports (the in-process hub) and the executor node loop; host-only.
//   DDECLI       the `dde` command line.
//   DDETorture   test tool, not shipped: the child of scripts/test-crash.sh (commits in a loop
//                while it is killed) and the store/executor benchmarks (benchmarks/store.sh, executor.sh).
import PackageDescription

let package = Package(
    name: "dde",
    products: [
        // Built as libDDECore.so; scripts/build-lib.sh links it with export control and the static
        // Swift runtime and installs it as libdde.so (the product name `dde` is the command's).
        .library(name: "DDECore", type: .dynamic, targets: ["DDE"]),
        .executable(name: "dde", targets: ["DDECLI"]),
        .executable(name: "dde-torture", targets: ["DDETorture"]),
        .executable(name: "dde-sim", targets: ["DDESim"]),
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
        .executableTarget(
            name: "DDECLI",
            dependencies: [
                "DDE", "DDEExecutor", "DDENetwork",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "DDETorture", dependencies: ["CDDE", "DDE", "DDEExecutor"]),
        // The Byzantine simulation (issue 11): requesters on the shipped Delegator, simulated
        // network, clock and liars (`dde-sim --help` says what is real and what is simulated).
        .executableTarget(
            name: "DDESim",
            dependencies: [
                "DDE", "DDEExecutor", "DDENetwork",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DDETests", dependencies: ["DDE"]),
        .testTarget(name: "DDEExecutorTests", dependencies: ["DDE", "DDEExecutor"]),
        .testTarget(name: "DDENetworkTests", dependencies: ["DDE", "DDEExecutor", "DDENetwork"]),
        // MQTTTransport and `dde node` processes against a real Mosquitto broker the tests start
        // (scripts/test-e2e.sh builds `dde` first and runs only these).
        .testTarget(name: "DDEMQTTTests", dependencies: ["DDE", "DDEExecutor"]),
    ]
)

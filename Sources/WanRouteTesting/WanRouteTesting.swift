// WanRouteTesting: the test doubles wanroute's own tests use, shipped so embedders test their code
// against the same seams (as swift-log ships its in-memory log handler).
//
// - VirtualTimeSource.swift: a TimeSource whose waits return at once and move virtual time on.
// - The ledger's doubles belong here beside it: an in-memory LedgerStore (InMemoryLedger.swift) and
//   the conformance suite every LedgerStore must pass (LedgerStoreConformance.swift), run by the
//   tests of the file store, the PostgreSQL store and the in-memory one alike.
//
// This target depends only on WanRoute (and, for a conformance suite, XCTest); it never ships in
// the `wanroute` binary.

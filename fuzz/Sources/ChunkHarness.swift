// chunk: a state_nodes row's body as the store reads it from its file (StoredChunk(body:)), and
// the schema-3 body the migration to schema 4 converts (StoreSchema.schema3Chunk).
@testable import DDE

func fuzzChunk(_ data: UnsafeRawBufferPointer) {
    let body = Array(data)
    let top = Digest(unchecked: [UInt8](repeating: 0xA5, count: Digest.byteCount))
    if let c = StoredChunk(body: body) {
        // One form: what reads encodes back to the same bytes.
        expect(TreeChunk(c, top: top).encoded == body, "a chunk body that reads does not encode to itself")
    }
    if let converted = StoreSchema.schema3Chunk(body) {
        guard let c = StoredChunk(body: converted) else {
            expect(false, "a converted schema-3 body does not read")
            return
        }
        expect(TreeChunk(c, top: top).encoded == converted, "a converted body does not encode to itself")
    }
}

// Sorting for the whole module, through one sort: the standard library's (stable) sort run on
// [Int] indices, with the comparator looking the elements up. Calling `sort` on arrays of ten
// element types compiled ten copies of the sort (about 2.5 KB each in the Embedded Swift build,
// where every generic is specialised); this compiles one, and gives the same order as sorting
// the elements themselves, since the sort sees the same comparisons (docs/BUILDING.md).

/// `items` in the order of `less`, equal elements in their original order.
func sortedByIndex<T>(_ items: [T], by less: (T, T) -> Bool) -> [T] {
    var order = Array(items.indices)
    order.sort { less(items[$0], items[$1]) }
    return order.map { items[$0] }
}

/// Sorts `items` in place by `less`, stably (see sortedByIndex).
func sortByIndex<T>(_ items: inout [T], by less: (T, T) -> Bool) {
    items = sortedByIndex(items, by: less)
}

/// `keys` without repeats, each where it first occurs: by one sort of the indices, instead of a
/// Set of byte arrays (whose specialisation costs more Embedded code than this).
func firstOccurrences(_ keys: [[UInt8]]) -> [[UInt8]] {
    var order = Array(keys.indices)
    order.sort { a, b in bytesLess(keys[a], keys[b]) || (keys[a] == keys[b] && a < b) }
    var keep = [Bool](repeating: false, count: keys.count)
    for i in order.indices where i == 0 || keys[order[i - 1]] != keys[order[i]] { keep[order[i]] = true }
    var out = [[UInt8]]()
    for i in keys.indices where keep[i] { out.append(keys[i]) }
    return out
}

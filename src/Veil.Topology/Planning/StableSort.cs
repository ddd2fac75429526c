namespace Veil.Topology.Planning;

/// <summary>
/// A stable in-place sort for the planner's short lists (devices, diagnostics, NUMA groups). Ours so that it is
/// compiled ahead of time with the library: LINQ's OrderBy keyed by an address or an enum is JIT-compiled on
/// a CLI run's first (and only) call, which cost more than the whole plan.
/// </summary>
internal static class StableSort
{
    public static List<T> InPlace<T>(List<T> list, Comparison<T> compare)
        where T : class
    {
        for (var i = 1; i < list.Count; i++)
        {
            var x = list[i];
            var j = i - 1;
            while (j >= 0 && compare(list[j], x) > 0)
            {
                list[j + 1] = list[j];
                j--;
            }

            list[j + 1] = x;
        }

        return list;
    }
}

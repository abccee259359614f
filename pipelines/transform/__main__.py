"""`python -m pipelines.transform --stack devstack`: silver and gold with dbt, outside Airflow (the DAG
`transform_finance_dbt` runs the same build); one line per model and test, the time per layer, the docs page.

examples:
  python -m pipelines.transform --stack devstack                      build silver and gold, test, docs
  python -m pipelines.transform --stack devstack --select silver      only silver (dbt's --select syntax)
  python -m pipelines.transform --outputs outputs.json --no-docs      from a file of stack outputs
"""

from __future__ import annotations

import argparse
import sys

from pipelines.common import add_outputs_arguments, outputs_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.transform",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="examples:" + (__doc__ or "").split("examples:")[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_outputs_arguments(parser)
    parser.add_argument("--select", nargs="+", default=[], metavar="NODE", help="dbt node selection (default all)")
    parser.add_argument("--no-docs", action="store_true", help="skip dbt docs generate")
    args = parser.parse_args(argv)

    from pipelines.transform.run import TransformError, build

    try:
        result = build(outputs_from_args(args), select=args.select, docs=not args.no_docs)
    except TransformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(result.lines()))
    for layer, seconds in result.seconds_by_layer().items():
        print(f"{layer:>14}: {seconds:.1f} s")
    if result.docs_page:
        print(f"dbt docs (lineage): {result.docs_page}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

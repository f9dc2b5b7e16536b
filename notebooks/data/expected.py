"""The tables the example pipeline must produce from a folder of raw CSVs, computed in plain Python.

An independent re-statement of the notebooks' rules (stdlib only), for tests to compare the pipeline's
tables with, and for the README's figures:

    python notebooks/data/expected.py notebooks/data/sample [--year 2024]

`expected_tables(raw_dir, year)` returns {table: list of row dicts} (keys in column order) for every
table of the pipeline; `SCHEMAS[table]` is the table's Spark DDL schema in the same column order, so
`spark.createDataFrame([tuple(r.values()) for r in rows], SCHEMAS[table])` builds the expected DataFrame.
Money is summed in integer cents and divided by 100 once, as Spark's `round(sum(amount), 2)` ends up.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
from collections import defaultdict

SCHEMAS = {
    "Orders": "order_id int, customer_id int, order_date date, required_date date, shipped_date date, status string",
    "OrderItems": "order_id int, line_no int, product_id int, quantity int, unit_price double, discount_pct int",
    "Customers": "customer_id int, customer_name string, email string, city string, region string, signup_date date",
    "Products": "product_id int, product_name string, category string, unit_price double",
    "SalesOrderItems": (
        "order_id int, line_no int, order_date date, customer_id int, customer_name string, region string, "
        "product_id int, product_name string, category string, quantity int, unit_price double, discount_pct int, "
        "amount double, status string, required_date date, shipped_date date"
    ),
    "ProductRevenue": "product_id int, product_name string, category string, order_count bigint, quantity bigint, "
    "revenue double",
    "RegionRevenue": "region string, customer_count bigint, order_count bigint, revenue double",
    "ShippingDelays": "order_id int, customer_id int, region string, order_date date, required_date date, "
    "shipped_date date, days_to_ship int, days_late int, is_late boolean",
    "KpiReport": "metric string, value double, detail string",
    "MonthlyRevenue": "year int, month int, order_count bigint, revenue double, cumulative_revenue double",
    "CustomerSegments": "customer_id int, customer_name string, region string, order_count bigint, revenue double, "
    "revenue_rank int, segment string",
}
RAW_FILES = {
    "Orders": "orders.csv",
    "OrderItems": "order_items.csv",
    "Customers": "customers.csv",
    "Products": "products.csv",
}
OVERRIDES_FILE = "customer_overrides.csv"
HIGH_REVENUE, MEDIUM_REVENUE = 400.0, 150.0
_PARSERS = {"int": int, "double": float, "date": datetime.date.fromisoformat, "string": str}


def read_raw(path: str, table: str) -> list[dict]:
    """Rows of a raw CSV typed by `SCHEMAS[table]`, empty fields as None (as Spark's CSV reader does)."""
    types = dict(column.split() for column in SCHEMAS[table].split(", "))
    with open(path, newline="", encoding="utf-8") as f:
        return [
            {name: _PARSERS[types[name]](value) if value != "" else None for name, value in row.items()}
            for row in csv.DictReader(f)
        ]


def bronze_tables(raw_dir: str) -> dict[str, list[dict]]:
    """The bronze tables: the raw CSVs, typed; customer overrides replace or add customers by id."""
    tables = {table: read_raw(os.path.join(raw_dir, name), table) for table, name in RAW_FILES.items()}
    overrides_path = os.path.join(raw_dir, OVERRIDES_FILE)
    if os.path.exists(overrides_path):
        overrides = read_raw(overrides_path, "Customers")
        overridden = {row["customer_id"] for row in overrides}
        tables["Customers"] = [row for row in tables["Customers"] if row["customer_id"] not in overridden] + overrides
    return tables


def _trim(value):
    return value.strip(" ") if value is not None else None


def _initcap(value):
    return " ".join(word[:1].upper() + word[1:].lower() for word in value.split(" ")) if value is not None else None


def _one_row_per_key(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """The smallest row per key by the other columns, nulls last."""
    best = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        rank = tuple((row[c] is None, row[c] if row[c] is not None else 0) for c in row if c not in keys)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, row)
    return [row for _, row in best.values()]


def _amount_cents(quantity: int, unit_price: float, discount_pct: int) -> int:
    return (quantity * round(unit_price * 100) * (100 - discount_pct) + 50) // 100


def sales_order_items(bronze: dict[str, list[dict]], year: int) -> list[dict]:
    """The silver table: cleaned order lines of `year`, joined with orders, products and customers."""
    orders = _one_row_per_key(
        [
            {**row, "status": _trim(row["status"]).lower() if row["status"] is not None else None}
            for row in bronze["Orders"]
            if row["order_id"] is not None and row["order_date"] is not None
        ],
        ("order_id",),
    )
    orders = {o["order_id"]: o for o in orders if o["status"] != "cancelled" and o["order_date"].year == year}
    items = _one_row_per_key(
        [
            {**row, "discount_pct": row["discount_pct"] or 0}
            for row in bronze["OrderItems"]
            if row["quantity"] is not None and row["quantity"] > 0 and row["unit_price"] is not None
        ],
        ("order_id", "line_no"),
    )
    customers = {
        c["customer_id"]: c
        for c in _one_row_per_key(
            [
                {
                    "customer_id": c["customer_id"],
                    "customer_name": _trim(c["customer_name"]),
                    "region": _initcap(_trim(c["region"])),
                }
                for c in bronze["Customers"]
            ],
            ("customer_id",),
        )
    }
    products = {
        p["product_id"]: p
        for p in _one_row_per_key(
            [
                {
                    "product_id": p["product_id"],
                    "product_name": _trim(p["product_name"]),
                    "category": _trim(p["category"]),
                }
                for p in bronze["Products"]
            ],
            ("product_id",),
        )
    }
    rows = []
    for item in items:
        order, product = orders.get(item["order_id"]), products.get(item["product_id"])
        if order is None or product is None:
            continue
        customer = customers.get(order["customer_id"], {})
        rows.append(
            {
                "order_id": item["order_id"],
                "line_no": item["line_no"],
                "order_date": order["order_date"],
                "customer_id": order["customer_id"],
                "customer_name": customer.get("customer_name"),
                "region": customer.get("region") or "Unknown",
                "product_id": item["product_id"],
                "product_name": product["product_name"],
                "category": product["category"],
                "quantity": item["quantity"],
                "unit_price": item["unit_price"],
                "discount_pct": item["discount_pct"],
                "amount": _amount_cents(item["quantity"], item["unit_price"], item["discount_pct"]) / 100,
                "status": order["status"],
                "required_date": order["required_date"],
                "shipped_date": order["shipped_date"],
            }
        )
    return sorted(rows, key=lambda r: (r["order_id"], r["line_no"]))


def _cents(amount: float) -> int:
    return round(amount * 100)


def _group(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    return groups


def product_revenue(sales: list[dict]) -> list[dict]:
    result = [
        {
            "product_id": product_id,
            "product_name": name,
            "category": category,
            "order_count": len({r["order_id"] for r in rows}),
            "quantity": sum(r["quantity"] for r in rows),
            "revenue": sum(_cents(r["amount"]) for r in rows) / 100,
        }
        for (product_id, name, category), rows in _group(sales, "product_id", "product_name", "category").items()
    ]
    return sorted(result, key=lambda r: (-r["revenue"], r["product_id"]))


def region_revenue(sales: list[dict]) -> list[dict]:
    result = [
        {
            "region": region,
            "customer_count": len({r["customer_id"] for r in rows if r["customer_id"] is not None}),
            "order_count": len({r["order_id"] for r in rows}),
            "revenue": sum(_cents(r["amount"]) for r in rows) / 100,
        }
        for (region,), rows in _group(sales, "region").items()
    ]
    return sorted(result, key=lambda r: (-r["revenue"], r["region"]))


def shipping_delays(sales: list[dict]) -> list[dict]:
    orders = {
        r["order_id"]: {
            k: r[k] for k in ("order_id", "customer_id", "region", "order_date", "required_date", "shipped_date")
        }
        for r in sales
        if r["shipped_date"] is not None
    }
    return [
        {
            **order,
            "days_to_ship": (order["shipped_date"] - order["order_date"]).days,
            "days_late": max((order["shipped_date"] - order["required_date"]).days, 0),
            "is_late": order["shipped_date"] > order["required_date"],
        }
        for _, order in sorted(orders.items())
    ]


def kpi_report(products: list[dict], regions: list[dict], delays: list[dict], year: int) -> list[dict]:
    def ratio(numerator, denominator, digits):
        return round(numerator / denominator, digits) if denominator else 0.0

    total_revenue = round(sum(row["revenue"] for row in products), 2)
    order_count = sum(row["order_count"] for row in regions)
    late_count = sum(1 for row in delays if row["is_late"])
    kpis = [
        ("total_revenue", total_revenue, str(year)),
        ("order_count", order_count, None),
        ("avg_order_value", ratio(total_revenue, order_count, 2), None),
        (
            "top_product_revenue",
            products[0]["revenue"] if products else 0.0,
            products[0]["product_name"] if products else None,
        ),
        ("top_region_revenue", regions[0]["revenue"] if regions else 0.0, regions[0]["region"] if regions else None),
        ("shipped_orders", len(delays), None),
        ("late_orders", late_count, None),
        ("late_share", ratio(late_count, len(delays), 4), None),
        ("avg_days_to_ship", ratio(sum(row["days_to_ship"] for row in delays), len(delays), 2), None),
    ]
    return [{"metric": metric, "value": float(value), "detail": detail} for metric, value, detail in kpis]


def monthly_revenue(sales: list[dict]) -> list[dict]:
    result, running = [], defaultdict(int)
    months = defaultdict(list)
    for row in sales:
        months[(row["order_date"].year, row["order_date"].month)].append(row)
    for (year, month), rows in sorted(months.items()):
        cents = sum(_cents(r["amount"]) for r in rows)
        running[year] += cents
        result.append(
            {
                "year": year,
                "month": month,
                "order_count": len({r["order_id"] for r in rows}),
                "revenue": cents / 100,
                "cumulative_revenue": running[year] / 100,
            }
        )
    return result


def customer_segments(sales: list[dict]) -> list[dict]:
    customers = [
        {
            "customer_id": customer_id,
            "customer_name": name,
            "region": region,
            "order_count": len({r["order_id"] for r in rows}),
            "revenue": sum(_cents(r["amount"]) for r in rows) / 100,
        }
        for (customer_id, name, region), rows in _group(sales, "customer_id", "customer_name", "region").items()
    ]
    customers.sort(key=lambda c: (-c["revenue"], c["customer_id"] is None, c["customer_id"] or 0))
    for rank, customer in enumerate(customers, start=1):
        customer["revenue_rank"] = rank
        revenue = customer["revenue"]
        customer["segment"] = "high" if revenue >= HIGH_REVENUE else "medium" if revenue >= MEDIUM_REVENUE else "low"
    return customers


def expected_tables(raw_dir: str, year: int | str = 2024) -> dict[str, list[dict]]:
    """Every table of the pipeline run on `raw_dir` for `year`, as {table: rows}."""
    year = int(year)
    tables = bronze_tables(raw_dir)
    sales = sales_order_items(tables, year)
    tables["SalesOrderItems"] = sales
    tables["ProductRevenue"] = product_revenue(sales)
    tables["RegionRevenue"] = region_revenue(sales)
    tables["ShippingDelays"] = shipping_delays(sales)
    tables["KpiReport"] = kpi_report(tables["ProductRevenue"], tables["RegionRevenue"], tables["ShippingDelays"], year)
    tables["MonthlyRevenue"] = monthly_revenue(sales)
    tables["CustomerSegments"] = customer_segments(sales)
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print the row counts and KPIs the pipeline must produce.")
    parser.add_argument("raw_dir", help="folder with orders.csv, order_items.csv, customers.csv, products.csv")
    parser.add_argument("--year", type=int, default=2024)
    options = parser.parse_args(argv)
    tables = expected_tables(options.raw_dir, options.year)
    report = {
        "row_counts": {table: len(rows) for table, rows in tables.items()},
        "KpiReport": tables["KpiReport"],
        "RegionRevenue": tables["RegionRevenue"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Whether the catalogue's Turtle and JSON-LD are the same RDF graph.

Usage: python isomorphic.py CATALOGUE.ttl CATALOGUE.jsonld
Prints the triple counts and the verdict; exits 1 if the graphs differ
(and prints the triples only one of them holds).
"""

import sys

from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic


def main(turtle_path, jsonld_path):
    turtle = Graph().parse(turtle_path, format="turtle")
    jsonld = Graph().parse(jsonld_path, format="json-ld")
    same = isomorphic(turtle, jsonld)
    print(
        f"Turtle: {len(turtle)} triples, JSON-LD: {len(jsonld)} triples, "
        f"isomorphic: {same}"
    )
    if not same:
        _, only_turtle, only_jsonld = graph_diff(
            to_isomorphic(turtle), to_isomorphic(jsonld)
        )
        for name, graph in (("Turtle", only_turtle), ("JSON-LD", only_jsonld)):
            print(f"only in the {name}:")
            for triple in sorted(graph):
                print("  ", *(term.n3() for term in triple))
        return 1
    if len(turtle) == 0:
        print("both graphs are empty")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

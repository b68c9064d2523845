package io.graft.jobs.importer;

import io.graft.data.Example;
import java.io.Serializable;

/** One parsed row and where it came from, or why it could not be parsed. */
record Parsed(Example example, String location, String error) implements Serializable {
  static Parsed ok(Example e, String location) {
    return new Parsed(e, location, null);
  }

  static Parsed bad(String error) {
    return new Parsed(null, null, error);
  }
}

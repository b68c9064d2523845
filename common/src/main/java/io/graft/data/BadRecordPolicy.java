package io.graft.data;

/** What to do with a row that cannot be used: stop with its location, or skip and count it. */
public enum BadRecordPolicy {
  FAIL,
  SKIP;

  @Override
  public String toString() {
    return name().toLowerCase();
  }
}

package io.graft.data;

/** One row that cannot be imported or trained on; {@code location} is "file:row" or similar. */
public class BadRecordException extends Exception {
  private final String location;

  public BadRecordException(String location, String reason) {
    super(location + ": " + reason);
    this.location = location;
  }

  public String location() {
    return location;
  }
}

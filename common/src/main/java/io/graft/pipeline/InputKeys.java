package io.graft.pipeline;

import io.graft.config.Input;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which settings of a stage name existing inputs, as paths into its settings: {@code data.train},
 * {@code tasks[].train} (every element of a list), {@code positional}. They come from the
 * {@link Input} marks on the job's config type or options, never from guessing by key names.
 *
 * @param paths settings checked to exist before anything runs
 * @param watched the subset whose files are fingerprinted into the stage's key
 */
public record InputKeys(Set<String> paths, Set<String> watched) {
  public InputKeys {
    paths = Set.copyOf(paths);
    watched = Set.copyOf(watched);
  }

  /** The {@link Input} components of a config record, its nested records and lists of records. */
  public static InputKeys ofConfig(Class<?> recordType) {
    Set<String> paths = new LinkedHashSet<>();
    Set<String> watched = new LinkedHashSet<>();
    walk(recordType, "", paths, watched);
    return new InputKeys(paths, watched);
  }

  private static void walk(Class<?> type, String prefix, Set<String> paths, Set<String> watched) {
    for (RecordComponent c : type.getRecordComponents()) {
      String path = prefix + c.getName();
      Input input = c.getAnnotation(Input.class);
      if (input != null) {
        paths.add(path);
        if (input.watch()) {
          watched.add(path);
        }
      } else if (c.getType().isRecord()) {
        walk(c.getType(), path + ".", paths, watched);
      } else if (List.class.isAssignableFrom(c.getType()) && c.getGenericType() instanceof ParameterizedType p) {
        Type element = p.getActualTypeArguments()[0];
        if (element instanceof Class<?> e && e.isRecord()) {
          walk(e, path + "[].", paths, watched);
        }
      }
    }
  }
}

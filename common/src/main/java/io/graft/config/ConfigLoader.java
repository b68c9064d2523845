package io.graft.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Loads a job configuration record from YAML with command-line overrides.
 *
 * <p>Precedence, lowest to highest: the record's defaults, the YAML file ({@code --config}),
 * then each {@code --set key.path=value} in the order given. Unknown keys are errors that name
 * the key and its path; values are validated by the records' compact constructors.
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML =
      YAMLMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
          .enable(DeserializationFeature.READ_ENUMS_USING_TO_STRING)
          .enable(SerializationFeature.WRITE_ENUMS_USING_TO_STRING)
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .build();

  private ConfigLoader() {}

  /** The YAML mapper Graft uses for configs (also used to echo them into provenance). */
  public static ObjectMapper yaml() {
    return YAML;
  }

  /**
   * Reads {@code type} from the YAML file (may be null: defaults only) with overrides applied.
   *
   * @throws ConfigException naming the file, the key or the value that is wrong
   */
  public static <T> T load(Path file, List<String> overrides, Class<T> type) {
    ObjectNode tree = JsonNodeFactory.instance.objectNode();
    if (file != null) {
      if (!Files.isRegularFile(file)) {
        throw new ConfigException("Config file not found: " + file);
      }
      try {
        JsonNode parsed = YAML.readTree(file.toFile());
        if (parsed != null && !parsed.isMissingNode() && !parsed.isNull()) {
          if (!parsed.isObject()) {
            throw new ConfigException("Config file " + file + " must hold a mapping of keys, not " + parsed.getNodeType());
          }
          tree = (ObjectNode) parsed;
        }
      } catch (JsonProcessingException e) {
        throw new ConfigException("Cannot parse config file " + file + ": " + e.getOriginalMessage());
      } catch (IOException e) {
        throw new ConfigException("Cannot read config file " + file + ": " + e.getMessage(), e);
      }
    }
    for (String override : overrides) {
      applyOverride(tree, override);
    }
    return bind(tree, type, file == null ? "--set" : file.toString());
  }

  /** Binds a tree to the record type, turning Jackson's errors into one-line messages. */
  public static <T> T bind(JsonNode tree, Class<T> type, String source) {
    UnusedKeys unused = type.getAnnotation(UnusedKeys.class);
    if (unused != null) {
      for (String key : unused.value()) {
        JsonNode node = tree;
        for (String part : key.split("\\.")) {
          node = node == null ? null : node.get(part);
        }
        if (node != null) {
          throw new ConfigException("Config key '" + key + "' in " + source + " is not used here: " + unused.reason());
        }
      }
    }
    try {
      return YAML.treeToValue(tree, type);
    } catch (UnrecognizedPropertyException e) {
      String path = path(e);
      List<String> known =
          e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.toList());
      throw new ConfigException(
          "Unknown config key '" + path + "' in " + source + " (known keys here: " + String.join(", ", known) + ")");
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ConfigException ce) {
        throw ce;
      }
      throw new ConfigException("Invalid config value at '" + path(e) + "' in " + source + ": "
          + (cause == null ? e.getOriginalMessage() : cause.getMessage()));
    } catch (InvalidFormatException e) {
      throw new ConfigException("Invalid value '" + e.getValue() + "' for config key '" + path(e) + "' in " + source
          + ": expected " + describe(e.getTargetType()));
    } catch (MismatchedInputException e) {
      throw new ConfigException("Invalid value for config key '" + path(e) + "' in " + source
          + ": expected " + describe(e.getTargetType()));
    } catch (JsonMappingException e) {
      throw new ConfigException("Invalid config at '" + path(e) + "' in " + source + ": " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw new ConfigException("Invalid config in " + source + ": " + e.getOriginalMessage());
    } catch (IllegalArgumentException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      throw new ConfigException("Invalid config in " + source + ": " + e.getMessage());
    }
  }

  private static String describe(Class<?> type) {
    if (type == null) {
      return "another type";
    }
    if (type.isEnum()) {
      Object[] constants = type.getEnumConstants();
      StringBuilder sb = new StringBuilder("one of ");
      for (int i = 0; i < constants.length; i++) {
        sb.append(i == 0 ? "" : ", ").append(constants[i].toString().toLowerCase().replace('_', '-'));
      }
      return sb.toString();
    }
    if (type.isArray() || List.class.isAssignableFrom(type)) {
      return "a list";
    }
    return type.getSimpleName().toLowerCase();
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.length() == 0 ? "<root>" : sb.toString();
  }

  /** Applies {@code a.b.c=value}; the value is parsed as YAML so numbers, lists and booleans work. */
  public static void applyOverride(ObjectNode root, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("Invalid --set '" + override + "': expected key.path=value");
    }
    String key = override.substring(0, eq).trim();
    String raw = override.substring(eq + 1);
    JsonNode value;
    try {
      value = raw.isEmpty() ? JsonNodeFactory.instance.textNode("") : YAML.readTree(raw);
      if (value == null || value.isMissingNode()) {
        value = JsonNodeFactory.instance.textNode(raw);
      }
    } catch (JsonProcessingException e) {
      value = JsonNodeFactory.instance.textNode(raw);
    }
    String[] parts = key.split("\\.");
    ObjectNode node = root;
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      if (child == null || child.isNull()) {
        child = node.putObject(parts[i]);
      } else if (!child.isObject()) {
        throw new ConfigException("Invalid --set '" + override + "': '" + parts[i] + "' is not a section");
      }
      node = (ObjectNode) child;
    }
    String leaf = parts[parts.length - 1];
    if (leaf.isEmpty()) {
      throw new ConfigException("Invalid --set '" + override + "': empty key");
    }
    node.set(leaf, value instanceof ArrayNode || value.isValueNode() || value.isObject() ? value : JsonNodeFactory.instance.textNode(raw));
  }
}

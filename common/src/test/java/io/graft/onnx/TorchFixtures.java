package io.graft.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * ONNX fixtures too large to commit (torchvision's resnet18 is 45 MB), written on first use by
 * deploy/models/export_onnx.py with Debian's PyTorch and torchvision. Where neither Python has them
 * the tests that need them are skipped; under CI (which installs them) they must run.
 */
final class TorchFixtures {
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final Path DIR = REPO.resolve("common/target/onnx-fixtures");

  private TorchFixtures() {}

  static synchronized Path generated(String name) throws IOException, InterruptedException {
    Path model = DIR.resolve(name + ".onnx");
    if (Files.exists(model)) {
      return model;
    }
    String python = List.of("/usr/bin/python3", "python3").stream().filter(TorchFixtures::hasTorchvision).findFirst().orElse(null);
    if (System.getenv("CI") != null) {
      assertThat(python).as("CI installs Debian's python3-torch and python3-torchvision for the ONNX fixtures").isNotNull();
    }
    assumeTrue(python != null, "no python3 with torch and torchvision: the " + name + " fixture is not generated");
    Process p = new ProcessBuilder(python, REPO.resolve("deploy/models/export_onnx.py").toString(), name, "--out", DIR.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    assertThat(p.waitFor()).as("export_onnx.py " + name).isZero();
    return model;
  }

  private static boolean hasTorchvision(String python) {
    try {
      Process p = new ProcessBuilder(python, "-c", "import torch, torchvision").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}

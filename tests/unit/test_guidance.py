import time
from pathlib import Path

import pytest

from dda_portal.domain.guidance import (
    DEFAULT_RULES,
    FALLBACK,
    TROUBLESHOOTING_URL,
    Guidance,
    GuidanceBook,
    GuidanceError,
)


@pytest.fixture(scope='module')
def book() -> GuidanceBook:
    return GuidanceBook.load()


# Real-looking FailureReason strings → the rule that should explain them.
MESSAGES: list[tuple[str, str]] = [
    (
        'ClientError: Unable to assume role arn:aws:iam::123456789012:role/DdaNeoRole. '
        'Please make sure the role exists and trusts sagemaker.amazonaws.com',
        'iam-role',
    ),
    (
        'User: arn:aws:sts::123456789012:assumed-role/dev/alice is not authorized to perform: '
        'iam:PassRole on resource: arn:aws:iam::123456789012:role/DdaNeoRole',
        'iam-role',
    ),
    (
        'ClientError: InputConfiguration: AccessDenied: Access Denied when reading '
        's3://dda-models/out/train-1/output/model.tar.gz',
        'iam-role',
    ),
    (
        'ClientError: InputConfiguration: S3 object does not exist. Bucket: dda-models, '
        'Key: out/train-1/output/model.tar.gz',
        's3-location',
    ),
    (
        'ClientError: InputConfiguration: Bucket dda-models is in region eu-west-1 which is different '
        'from AWS Sagemaker service region us-east-1',
        's3-location',
    ),
    (
        'ClientError: PermanentRedirect: The bucket you are attempting to access must be addressed '
        'using the specified endpoint.',
        's3-location',
    ),
    (
        'The bucket is in this region: eu-central-1. Please use this region to retry the request',
        's3-location',
    ),
    (
        'ClientError: InputConfiguration: Unable to untar input model. '
        'Please confirm the model is a tar.gz file',
        'archive-untar',
    ),
    ('ClientError: InputConfiguration: Model artifact is not a gzip file', 'archive-untar'),
    (
        'ClientError: CompilerOptions: cuda-ver 12.2 is not supported for target platform LINUX/ARM64/NVIDIA',
        'cuda-mismatch',
    ),
    ('ClientError: CompilerOptions: TensorRT version 8.6.1 is not supported with CUDA 11.4', 'cuda-mismatch'),
    ('ClientError: CUDA version 10.0 is not supported. Supported versions: 10.2, 11.4', 'cuda-mismatch'),
    (
        'ClientError: OperatorNotImplemented: '
        "The following operators are not implemented: {'aten::unflatten'}",
        'operator-not-implemented',
    ),
    (
        'ClientError: InputConfiguration: TVM cannot convert TensorFlow model. Please make sure the '
        'framework you selected is correct. '
        "The following operators are not implemented: {'FusedBatchNormV3'}",
        'operator-not-implemented',
    ),
    (
        'ClientError: InputConfiguration: Unsupported operator: aten::scaled_dot_product_attention',
        'operator-not-implemented',
    ),
    (
        'ClientError: InputConfiguration: ONNX model uses opset version 18, which is not supported '
        'for target ml_c5',
        'onnx-opset',
    ),
    (
        'ClientError: InputConfiguration: Framework version 2.3 is not supported for target jetson_xavier. '
        'Supported versions are: 1.4, 1.5, 1.6, 1.7, 1.8, 1.12, 1.13, 2.0',
        'framework-version',
    ),
    ('ValidationException: FrameworkVersion 9.9 is invalid for framework PYTORCH', 'framework-version'),
    (
        'ClientError: InputConfiguration: Invalid PyTorch model or input-shape mismatch. '
        'Make sure that inputs are lexically ordered and of the correct dimensionality.',
        'pytorch-input-mismatch',
    ),
    (  # a state_dict saved instead of a traced model
        'ClientError: InputConfiguration: Unable to load PyTorch model: unexpected key "fc.weight"',
        'pytorch-input-mismatch',
    ),
    (
        'ClientError: InputConfiguration: Exactly one .pb file is allowed for TensorFlow models.',
        'too-many-model-files',
    ),
    (
        'ClientError: InputConfiguration: Multiple h5 files provided, s3://b/model/a.h5, s3://b/model/b.h5, '
        'when only one is allowed.',
        'too-many-model-files',
    ),
    (
        'ClientError: InputConfiguration: Only one parameter file is allowed for MXNet model. '
        'Please make sure the framework you select is correct.',
        'too-many-model-files',
    ),
    (
        'ClientError: InputConfiguration: Framework cannot load PyTorch model. [enforce fail at '
        'inline_container.cc:222] . file not found: archive/constants.pkl',
        'model-file-missing',
    ),
    (
        'ClientError: InputConfiguration: No model file found in s3://dda-models/model.tar.gz',
        'model-file-missing',
    ),
    ('ClientError: InputConfiguration: No h5 file provided in s3://dda-models/keras/', 'model-file-missing'),
    (
        'ClientError: InputConfiguration: We are unable to extract DataInputConfig from the model due to '
        'input_config_derivation_error. Please override by providing a DataInputConfig during compilation '
        'job creation.',
        'input-config-derivation',
    ),
    (
        'ClientError: InputConfiguration: Unable to derive input configuration from the model. '
        'Please provide DataInputConfig.',
        'input-config-derivation',
    ),
    (
        'ClientError: InputConfiguration: Please make sure input config is correct. '
        'Input config format is wrong.',
        'wrong-input-shape',
    ),
    ('ClientError: InputConfiguration: DataInputConfig is not a valid JSON dictionary.', 'wrong-input-shape'),
    (
        'ClientError: InputConfiguration: Input input_1 has wrong shape in Input Shape dictionary. '
        'Input shapes should be provided in NCHW format.',
        'wrong-input-shape',
    ),
    (
        "ClientError: InputConfiguration: Unable to load provided Keras model. Error: 'sample_weight_mode'",
        'incompatible-model-format',
    ),
    (
        'ClientError: InputConfiguration: TensorFlow model is not a frozen graph or SavedModel.',
        'incompatible-model-format',
    ),
    (
        'ClientError: Compilation job exceeded MaxRuntimeInSeconds (900) and was stopped.',
        'out-of-time-or-memory',
    ),
    ('ClientError: CompilationError: RuntimeError: CUDA out of memory', 'out-of-time-or-memory'),
    ('InternalServerError: An internal error occurred. Please try again.', 'internal-error'),
    ('ServerError: We encountered an internal error. Please try again.', 'internal-error'),
    ('ThrottlingException: Rate exceeded', 'internal-error'),
]


@pytest.mark.parametrize(('message', 'rule_id'), MESSAGES)
def test_message_gets_the_expected_rule(book: GuidanceBook, message: str, rule_id: str) -> None:
    guidance = book.for_failure(message)
    assert (guidance.rule_id, guidance.matched) == (rule_id, True)
    rule = next(r for r in book.rules if r.id == rule_id)
    assert guidance.title == rule.title
    assert guidance.steps == rule.steps


def test_every_shipped_rule_is_exercised_by_a_message(book: GuidanceBook) -> None:
    assert {r.id for r in book.rules} == {rule_id for _, rule_id in MESSAGES}
    assert len(book.rules) >= 10


def test_matching_ignores_case(book: GuidanceBook) -> None:
    assert book.for_failure('clienterror: UNABLE TO UNTAR INPUT MODEL').rule_id == 'archive-untar'


def test_first_matching_rule_wins(book: GuidanceBook) -> None:
    # names both an input-shape problem and an unimplemented operator; the operator rule comes first
    message = (
        "OperatorNotImplemented: The following operators are not implemented: {'x'} (DataInputConfig ok)"
    )
    assert book.for_failure(message).rule_id == 'operator-not-implemented'
    ids = [r.id for r in book.rules]
    assert ids.index('pytorch-input-mismatch') < ids.index('wrong-input-shape')
    assert ids.index('input-config-derivation') < ids.index('wrong-input-shape')


def test_first_match_follows_file_order(tmp_path: Path) -> None:
    rules = tmp_path / 'rules.toml'
    rules.write_text(_rule('first', 'shape') + _rule('second', 'input shape'))
    assert GuidanceBook.load(rules).for_failure('bad input shape').rule_id == 'first'
    rules.write_text(_rule('second', 'input shape') + _rule('first', 'shape'))
    assert GuidanceBook.load(rules).for_failure('bad input shape').rule_id == 'second'


@pytest.mark.parametrize(
    'message', [None, '', '   \n\t', 'Something nobody has seen before', 'ClientError: ¯\\_(ツ)_/¯']
)
def test_unmatched_or_empty_messages_get_the_general_advice(book: GuidanceBook, message: str | None) -> None:
    guidance = book.for_failure(message)
    assert guidance == FALLBACK
    assert not guidance.matched
    assert guidance.rule_id is None
    assert guidance.title == 'Compilation failed'
    assert guidance.docs == TROUBLESHOOTING_URL
    text = ' '.join(guidance.steps).lower()
    for hint in ('log', 'archive', 'input shape', 'framework version', 'internal error', TROUBLESHOOTING_URL):
        assert hint.lower() in text


def test_html_in_a_message_is_plain_text(book: GuidanceBook) -> None:
    guidance = book.for_failure('<img src=x onerror=alert(1)> Unable to untar input model')
    assert guidance.rule_id == 'archive-untar'
    assert isinstance(guidance, Guidance)
    fallback = book.for_failure('<img src=x onerror=alert(1)>')
    assert not fallback.matched
    assert all(isinstance(step, str) and '<img' not in step for step in fallback.steps)


@pytest.mark.parametrize(
    'message',
    [
        'x' * 2_000_000,
        'a' * 100_000 + ' Unable to untar',
        '\x00\ud800\U0001f600 ' * 1000,
        '\u202e' + 'version ' * 50_000,
        'bucket ' * 100_000,
        'input ' * 100_000,
    ],
)
def test_never_raises_and_stays_fast_on_odd_input(book: GuidanceBook, message: str) -> None:
    started = time.perf_counter()
    assert isinstance(book.for_failure(message), Guidance)
    assert time.perf_counter() - started < 2


def test_non_string_input_does_not_raise(book: GuidanceBook) -> None:
    assert book.for_failure(b'Unable to untar input model').rule_id == 'archive-untar'  # type: ignore[arg-type]
    assert isinstance(book.for_failure(42), Guidance)  # type: ignore[arg-type]


def test_rule_ids_are_unique_and_every_rule_is_complete(book: GuidanceBook) -> None:
    ids = [r.id for r in book.rules]
    assert len(ids) == len(set(ids))
    for rule in book.rules:
        assert rule.title and rule.cause and rule.patterns
        assert rule.steps and all(step.strip() for step in rule.steps)
        assert rule.docs.startswith('https://docs.aws.amazon.com/')


def test_the_shipped_file_is_next_to_the_module() -> None:
    assert DEFAULT_RULES.name == 'guidance.toml'
    assert DEFAULT_RULES.parent.name == 'domain'


def _rule(rule_id: str, *patterns: str, **override: str) -> str:
    fields = {
        'id': f'"{rule_id}"',
        'title': '"A title"',
        'patterns': '[' + ', '.join(f"'{p}'" for p in patterns) + ']',
        'cause': '"A cause."',
        'steps': '["Do this."]',
        'docs': '"https://docs.aws.amazon.com/sagemaker/latest/dg/neo-troubleshooting-compilation.html"',
    }
    fields.update(override)
    body = ''.join(f'{key} = {value}\n' for key, value in fields.items() if value)
    return f'[[rule]]\n{body}\n'


def _error_for(tmp_path: Path, text: str) -> str:
    path = tmp_path / 'rules.toml'
    path.write_text(text, encoding='utf-8')
    with pytest.raises(GuidanceError) as error:
        GuidanceBook.load(path)
    message = str(error.value)
    assert message.startswith(str(path))
    return message


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('ok', 'x') + '[[rule]]\nid = "broken\n')
    assert 'line 10' in message


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('ok', 'x') + _rule('no-steps', 'y', steps=''))
    assert 'line 9:' in message  # the second [[rule]] header
    assert 'steps' in message


def test_empty_steps_are_refused(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('ok', 'x', steps='[]'))
    assert 'line 6:' in message and 'steps' in message


def test_non_https_docs_are_refused(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('ok', 'x', docs='"http://example.com"'))
    assert 'line 7:' in message and 'docs' in message


def test_bad_regex_names_file_line_and_pattern(tmp_path: Path) -> None:
    text = (
        _rule('ok', 'x')
        + '[[rule]]\nid = "bad"\ntitle = "T"\npatterns = [\n    \'fine\',\n    \'(unclosed\',\n]\n'
    )
    text += 'cause = "C."\nsteps = ["S."]\ndocs = "https://docs.aws.amazon.com/"\n'
    message = _error_for(tmp_path, text)
    assert 'line 14:' in message  # the bad pattern's own line
    assert "'bad'" in message and '(unclosed' in message and 'invalid regular expression' in message


def test_pattern_matching_everything_is_refused(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('greedy', 'a|'))
    assert 'line 4:' in message and 'empty message' in message


def test_duplicate_rule_id_is_refused(tmp_path: Path) -> None:
    message = _error_for(tmp_path, _rule('same', 'x') + _rule('same', 'y'))
    assert 'line 10:' in message and 'duplicate' in message


def test_unknown_field_and_no_rules_are_refused(tmp_path: Path) -> None:
    assert 'line 8:' in _error_for(tmp_path, _rule('ok', 'x', colour='"red"'))
    assert 'line 1:' in _error_for(tmp_path, '# nothing here\n')


def test_unreadable_file_is_a_guidance_error(tmp_path: Path) -> None:
    missing = tmp_path / 'missing.toml'
    with pytest.raises(GuidanceError, match=r'missing\.toml'):
        GuidanceBook.load(missing)

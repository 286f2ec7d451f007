from dda_portal.domain.console import ConsoleLinks


def test_links_use_the_region_and_escape_names() -> None:
    links = ConsoleLinks('eu-west-1')
    assert (
        links.training_job('weld-1')
        == 'https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/weld-1'
    )
    assert links.compilation_job('weld-1-x86-64-cpu-1').endswith('#/compilation-jobs/weld-1-x86-64-cpu-1')
    arn = 'arn:aws:greengrass:eu-west-1:123456789012:components:model-weld:versions:1.0.0'
    assert links.component(arn).endswith(
        '/private/arn%3Aaws%3Agreengrass%3Aeu-west-1%3A123456789012%3A'
        'components%3Amodel-weld%3Aversions%3A1.0.0'
    )
    assert links.core_device('line 1/jetson').endswith('#/greengrass/v2/cores/line%201%2Fjetson')
